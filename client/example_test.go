package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/sessioning/sessioning"
	"github.com/sessioning/sessioning/client"
	"github.com/sessioning/sessioning/httpapi"
	"github.com/sessioning/sessioning/memstore"
)

func Example() {
	// A sessiond, in process here; usually another machine.
	m, _ := sessioning.New(memstore.New(), nil)
	api, _ := httpapi.New(m, &httpapi.Options{ServiceKey: "s3cret"})
	srv := httptest.NewServer(api)
	defer srv.Close()

	// The client is a sessioning.Service, like the Manager.
	var svc sessioning.Service
	svc, err := client.New(srv.URL+"/api", "s3cret", nil)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	s, _ := svc.Create(ctx, "alice", sessioning.Metadata{"userAgent": "curl/8"})
	info, _ := svc.Lookup(ctx, s.Token)
	fmt.Println(info.User, info.Metadata["userAgent"])

	_ = svc.Delete(ctx, s.Token)
	_, err = svc.Lookup(ctx, s.Token)
	fmt.Println(errors.Is(err, sessioning.ErrNotFound))

	wrongKey, _ := client.New(srv.URL+"/api", "guess", nil)
	_, err = wrongKey.Create(ctx, "mallory", nil)
	fmt.Println(errors.Is(err, sessioning.ErrUnauthorized))
	// Output:
	// alice curl/8
	// true
	// true
}
