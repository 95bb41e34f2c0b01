// Command session is the forgelink "session" Lambda function; its routes are the web package's
// sessionRoutes, mapped to it in template.yaml. This file is its composition root.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/config"
	"github.com/forgelink/forgelink/shared/lambdahttp"
	"github.com/forgelink/forgelink/shared/web"
)

func main() {
	lambdahttp.Start(web.FuncSession, func(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, error) {
		d, err := app.FromAWS(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		return app.Session(d)
	})
}
