package spelling

import "testing"

func TestClosest(t *testing.T) {
	for _, tt := range []struct {
		got   string
		known []string
		want  string
		d     int
	}{
		{"subjct_key", []string{"sqlite_path", "subject_key", "data_key"}, "subject_key", 1},
		{"EMAIL", []string{"sms", "email"}, "email", 0},
		{"x", nil, "", -1},
	} {
		if w, d := Closest(tt.got, tt.known); w != tt.want || d != tt.d {
			t.Errorf("Closest(%q) = %q, %d; want %q, %d", tt.got, w, d, tt.want, tt.d)
		}
	}
}
