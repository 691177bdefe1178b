package notify

import (
	"fmt"
	"time"

	"github.com/mijnservices/koerier/internal/sandbox/fault"
)

// RateLimitFault answers the next times API requests (0: all, until the
// injector is cleared) as Notify does when a key exceeds 3,000 requests per
// minute, with a Retry-After hint when retryAfter > 0.
func RateLimitFault(times int, retryAfter time.Duration) fault.Rule {
	return fault.Rule{
		PathPrefix: "/v2/", Times: times, Status: 429, RetryAfter: retryAfter, ContentType: "application/json",
		Body: `{"status_code": 429, "errors": [{"error": "RateLimitError", "message": "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"}]}`,
	}
}

// ServerErrorFault answers the next times API requests (0: all) with
// Notify's 500.
func ServerErrorFault(times int) fault.Rule {
	return fault.Rule{
		PathPrefix: "/v2/", Times: times, Status: 500, ContentType: "application/json",
		Body: `{"status_code": 500, "errors": [{"error": "Exception", "message": "Internal server error"}]}`,
	}
}

// TooManyRequestsFault answers like RateLimitFault in Notify's other 429
// shape (the LimitError schema: error TooManyRequestsError with the
// per-minute text).
func TooManyRequestsFault(times int, retryAfter time.Duration) fault.Rule {
	return fault.Rule{
		PathPrefix: "/v2/", Times: times, Status: 429, RetryAfter: retryAfter, ContentType: "application/json",
		Body: `{"status_code": 429, "errors": [{"error": "TooManyRequestsError", "message": "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"}]}`,
	}
}

// DailyLimitFault answers sends (POST /v2/notifications/...) as Notify does
// once a service has used its daily send limit; it resets at midnight.
func DailyLimitFault(times, limit int) fault.Rule {
	return fault.Rule{
		Method: "POST", PathPrefix: "/v2/notifications/", Times: times, Status: 429, ContentType: "application/json",
		Body: fmt.Sprintf(`{"status_code": 429, "errors": [{"error": "TooManyRequestsError", "message": "Exceeded send limits (%d) for today"}]}`, limit),
	}
}
