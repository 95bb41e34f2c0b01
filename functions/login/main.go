// Command login is the forgelink "login" Lambda function; its routes are the web package's
// loginRoutes, mapped to it in template.yaml. This file is its composition root: the
// function's own constructor over DynamoDB and Secrets Manager, served by lambdahttp.
package main

import (
	"github.com/forgelink/forgelink/shared/app"
	"github.com/forgelink/forgelink/shared/lambdahttp"
	"github.com/forgelink/forgelink/shared/web"
)

func main() { lambdahttp.Start(web.FuncLogin, app.OnAWS(app.Login)) }
