package notify

import (
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
