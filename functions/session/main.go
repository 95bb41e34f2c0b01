// Command session is the forgelink "session" Lambda function: its routes are listed in
// shared/web/routes.go and mapped to it in template.yaml.
package main

import "github.com/forgelink/forgelink/shared/lambdahttp"

func main() { lambdahttp.Start("session") }
