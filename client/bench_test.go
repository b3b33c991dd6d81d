package client_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/client"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/memstore"
)

// BenchmarkLookup compares a session lookup in process with one through
// the client over loopback HTTP to a real sessiond handler, from parallel
// goroutines as an app's requests would.
func BenchmarkLookup(b *testing.B) {
	m, err := sessioning.New(memstore.New(), nil)
	if err != nil {
		b.Fatal(err)
	}
	api, err := httpapi.New(m, &httpapi.Options{ServiceKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	c, err := client.New(srv.URL+"/api", "k", nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.Create(context.Background(), "alice", sessioning.Metadata{"userAgent": "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name string
		svc  sessioning.Service
	}{{"Manager", m}, {"Client", c}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := impl.svc.Lookup(ctx, s.Token); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
