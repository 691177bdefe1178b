package fault

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestInjectorTimes(t *testing.T) {
	var in Injector
	in.Add(Rule{Method: "GET", PathPrefix: "/a", Status: 503, Times: 2})
	srv := httptest.NewServer(in.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })))
	defer srv.Close()
	var got []int
	for i := 0; i < 3; i++ {
		resp, err := http.Get(srv.URL + "/a/b")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Fatalf("statuses = %v, want [503 503 200]", got)
	}
	resp, _ := http.Get(srv.URL + "/other")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unmatched path got %d", resp.StatusCode)
	}
}
