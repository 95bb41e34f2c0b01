package app

import (
	"net/http"

	"github.com/forgelink/forgelink/shared/service"
	"github.com/forgelink/forgelink/shared/web"
)

// Integrations builds the integrations function: admin pages and the admin JSON API.
func Integrations(d Deps) (http.Handler, error) {
	sd, wo, err := d.build()
	if err != nil {
		return nil, err
	}
	return integrations(wo, service.All{
		Integrations: service.NewIntegrations(sd),
		Sessions:     service.NewSessions(sd),
		Tokens:       service.NewTokens(sd),
		Audit:        service.NewAudit(sd),
		AdminRules:   service.NewAdminRules(sd),
		Members:      service.NewMembers(sd),
		SignIn:       service.NewSignIn(sd),
	}), nil
}

func integrations(wo web.Options, all service.All) http.Handler {
	return web.Integrations(wo, web.IntegrationsServices{
		Integrations: all.Integrations, Sessions: all.Sessions, Tokens: all.Tokens, Audit: all.Audit,
		AdminRules: all.AdminRules, Members: all.Members, SignIn: all.SignIn,
	})
}

// Login builds the login function: it starts sign-ins and writes nothing.
func Login(d Deps) (http.Handler, error) {
	sd, wo, err := d.build()
	if err != nil {
		return nil, err
	}
	return web.Login(wo, service.NewSignIn(sd), service.NewSessions(sd)), nil
}

// Callback builds the callback function: it finishes sign-ins.
func Callback(d Deps) (http.Handler, error) {
	sd, wo, err := d.build()
	if err != nil {
		return nil, err
	}
	return web.Callback(wo, service.NewSignIn(sd)), nil
}

// Session builds the session function: org home, whoami, sign-out, setup links.
func Session(d Deps) (http.Handler, error) {
	sd, wo, err := d.build()
	if err != nil {
		return nil, err
	}
	return web.Session(wo, service.NewSessions(sd), service.NewSetupLinks(sd)), nil
}
