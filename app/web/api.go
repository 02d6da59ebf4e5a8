package web

import (
	"net/http"

	"parley/app"
)

// meResponse says who an API token is.
type meResponse struct {
	Tenant meTenant `json:"tenant"`
	Token  meToken  `json:"token"`
}

type meTenant struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type meToken struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Role        app.Role `json:"role"`
	Permissions []string `json:"permissions"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var perms []string
	for _, p := range app.PermissionsOf(t.Token.Role) {
		perms = append(perms, string(p))
	}
	writeJSON(w, http.StatusOK, meResponse{
		Tenant: meTenant{ID: t.Tenant.ID, Slug: t.Tenant.Slug, Name: t.Tenant.Name},
		Token:  meToken{ID: t.Token.ID, Name: t.Token.Name, Role: t.Token.Role, Permissions: perms},
	})
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.writeAPIError(w, r, app.Errorf(app.ENOTFOUND, "No such API endpoint."))
}
