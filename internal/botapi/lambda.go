package botapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// LambdaHandler serves h as an AWS Lambda function: each invocation is a
// Lambda Function URL or API Gateway HTTP API event (payload format 2.0),
// turned into an *http.Request for h, and h's response into the event's
// answer. Base64-encoded bodies (form posts through a Function URL) reach h
// byte for byte, so Slack's signature still verifies.
func LambdaHandler(h http.Handler) lambda.Handler {
	return lambda.NewHandler(httpadapter.NewV2(h).ProxyWithContext)
}

// StartLambda runs h under the Lambda runtime API (AWS_LAMBDA_RUNTIME_API)
// until the runtime stops the process; it does not return.
func StartLambda(ctx context.Context, h http.Handler) {
	lambda.StartWithOptions(httpadapter.NewV2(h).ProxyWithContext, lambda.WithContext(ctx))
}
