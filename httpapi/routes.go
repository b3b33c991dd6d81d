package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/sessioning/sessioning"
)

// route is one action or query of the concept.
type route struct {
	name       string
	privileged bool
	serve      func(ctx context.Context, m *sessioning.Manager, in input) (any, error)
}

// empty is the success value of an action without results: {}.
type empty struct{}

type userResult struct {
	User string `json:"user"`
}

type countResult struct {
	Count int `json:"count"`
}

// routes is the table of concept names; the OpenAPI document and the
// access rules follow it.
var routes = []route{
	{name: "create", privileged: true, serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		user, err := in.str("user")
		if err != nil {
			return nil, err
		}
		md, err := in.metadata("metadata")
		if err != nil {
			return nil, err
		}
		return m.Create(ctx, user, md)
	}},
	{name: "delete", serve: serveDelete},
	{name: "logout", serve: serveDelete},
	{name: "_getUser", serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		tok, err := in.str("session")
		if err != nil {
			return nil, err
		}
		user, err := m.User(ctx, tok)
		if errors.Is(err, sessioning.ErrNotFound) {
			return []userResult{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []userResult{{user}}, nil
	}},
	{name: "_getSession", serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		tok, err := in.str("session")
		if err != nil {
			return nil, err
		}
		info, err := m.Lookup(ctx, tok)
		if errors.Is(err, sessioning.ErrNotFound) {
			return []sessioning.Info{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []sessioning.Info{info}, nil
	}},
	{name: "rotate", serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		tok, err := in.str("session")
		if err != nil {
			return nil, err
		}
		return m.Rotate(ctx, tok)
	}},
	{name: "_listSessions", privileged: true, serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		user, err := in.str("user")
		if err != nil {
			return nil, err
		}
		return m.List(ctx, user)
	}},
	{name: "revoke", privileged: true, serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		user, err := in.str("user")
		if err != nil {
			return nil, err
		}
		handle, err := in.str("handle")
		if err != nil {
			return nil, err
		}
		if err := m.Revoke(ctx, user, handle); err != nil {
			return nil, err
		}
		return empty{}, nil
	}},
	{name: "revokeOwn", serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		tok, err := in.str("session")
		if err != nil {
			return nil, err
		}
		handle, err := in.str("handle")
		if err != nil {
			return nil, err
		}
		if err := sessioning.ValidateHandle(handle); err != nil {
			return nil, err
		}
		user, err := m.User(ctx, tok)
		if err != nil {
			return nil, err
		}
		if err := m.Revoke(ctx, user, handle); err != nil {
			return nil, err
		}
		return empty{}, nil
	}},
	{name: "revokeAll", privileged: true, serve: func(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
		user, err := in.str("user")
		if err != nil {
			return nil, err
		}
		n, err := m.RevokeAll(ctx, user)
		if err != nil {
			return nil, err
		}
		return countResult{n}, nil
	}},
}

func serveDelete(ctx context.Context, m *sessioning.Manager, in input) (any, error) {
	tok, err := in.str("session")
	if err != nil {
		return nil, err
	}
	if err := m.Delete(ctx, tok); err != nil {
		return nil, err
	}
	return empty{}, nil
}

// input is a request body: a JSON object whose fields are checked one by
// one. Fields a route does not know are ignored, as the original's front
// ends may send more than a route needs.
type input map[string]json.RawMessage

// decodeBody reads r's body, at most limit bytes, as a JSON object.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64) (input, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, statusError(http.StatusBadRequest, "could not read the request body")
	}
	var in input
	if err := json.Unmarshal(data, &in); err != nil || in == nil {
		switch {
		case len(data) == 0:
			return nil, statusError(http.StatusBadRequest, "request body must be a JSON object; it is empty")
		case !json.Valid(data):
			return nil, statusError(http.StatusBadRequest, "request body must be a JSON object; it is not valid JSON")
		}
		return nil, statusError(http.StatusBadRequest, "request body must be a JSON object, got %s", kind(data))
	}
	return in, nil
}

// kind names the JSON type of a valid JSON value.
func kind(raw []byte) string {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return "object"
		case '[':
			return "array"
		case '"':
			return "string"
		case 't', 'f':
			return "boolean"
		case 'n':
			return "null"
		default:
			return "number"
		}
	}
	return "nothing"
}

// str returns the string field name; anything else is a 400.
func (in input) str(name string) (string, error) {
	raw, ok := in[name]
	if !ok {
		return "", statusError(http.StatusBadRequest, "missing field %q (a string)", name)
	}
	if k := kind(raw); k != "string" {
		return "", statusError(http.StatusBadRequest, "field %q must be a string, got %s", name, k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", statusError(http.StatusBadRequest, "field %q must be a string", name)
	}
	return s, nil
}

// metadata returns the optional field name, an object of strings.
func (in input) metadata(name string) (sessioning.Metadata, error) {
	raw, ok := in[name]
	if !ok {
		return nil, nil
	}
	if k := kind(raw); k != "object" {
		return nil, statusError(http.StatusBadRequest, "field %q must be an object of strings, got %s", name, k)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, statusError(http.StatusBadRequest, "field %q must be an object of strings", name)
	}
	md := make(sessioning.Metadata, len(fields))
	for k, v := range fields {
		if vk := kind(v); vk != "string" {
			return nil, statusError(http.StatusBadRequest, "every value of field %q must be a string, got %s", name, vk)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, statusError(http.StatusBadRequest, "every value of field %q must be a string", name)
		}
		md[k] = s
	}
	return md, nil
}
