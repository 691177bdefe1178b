package zgw

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestTokenClaims(t *testing.T) {
	now := time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		c                 Credentials
		wantUser, wantRep string
	}{
		{Credentials{ClientID: "koerier", Secret: testSecret}, "koerier", "Koerier"},
		{Credentials{ClientID: "koerier", Secret: testSecret, UserID: "svc-koerier", UserRepresentation: "Koerier notificaties"}, "svc-koerier", "Koerier notificaties"},
	}
	for _, tt := range tests {
		s, err := tt.c.Token(now)
		if err != nil {
			t.Fatal(err)
		}
		claims := jwt.MapClaims{}
		_, err = jwt.ParseWithClaims(s, claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		if claims["iss"] != "koerier" || claims["client_id"] != "koerier" || claims["iat"] != float64(now.Unix()) ||
			claims["user_id"] != tt.wantUser || claims["user_representation"] != tt.wantRep {
			t.Fatalf("claims %v", claims)
		}
	}
}
