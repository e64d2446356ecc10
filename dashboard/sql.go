package dashboard

import "net/http"

// sqlState is what the SQL handlers keep between requests.
type sqlState struct{}

// initSQL prepares the SQL engine; New calls it.
func (d *Dashboard) initSQL() error { return nil }

// closeSQL releases the SQL engine when Run returns.
func (d *Dashboard) closeSQL() {}

// sqlRoutes registers /api/sql and /api/sql/examples.
func (d *Dashboard) sqlRoutes(mux *http.ServeMux) {
	notYet := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "SQL is not available in this build"})
	}
	mux.HandleFunc("POST /api/sql", notYet)
	mux.HandleFunc("GET /api/sql/examples", notYet)
}
