// Command testfn is a Lambda function used by the local runner's tests. It
// answers by the "action" field of its JSON event: "echo" returns the event,
// "error" returns a handled error, "sleep" blocks for "ms" milliseconds (past its deadline),
// "crash" exits the process, "env" returns the named environment variable,
// "pid" returns its process id, "fail" returns a batch item failure for every
// SQS record whose body is "fail".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Action  string            `json:"action"`
	MS      int               `json:"ms"`
	Name    string            `json:"name"`
	Records []json.RawMessage `json:"Records"`
}

func handle(_ context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if ev.Records != nil {
		var sqsEvent events.SQSEvent
		if err := json.Unmarshal(raw, &sqsEvent); err != nil {
			return nil, err
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, r := range sqsEvent.Records {
			if r.Body == "fail" {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
			if r.Body == "error" {
				return nil, errors.New("batch error")
			}
		}
		return resp, nil
	}
	switch ev.Action {
	case "error":
		return nil, errors.New("requested failure")
	case "sleep":
		// A hung function does not watch its deadline: returning at the
		// deadline would race the runtime's timeout and answer instead.
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return map[string]string{"slept": "yes"}, nil
	case "crash":
		os.Exit(3)
	case "env":
		return map[string]string{"value": os.Getenv(ev.Name)}, nil
	case "pid":
		return map[string]int{"pid": os.Getpid()}, nil
	}
	return raw, nil
}

func main() {
	lambda.Start(handle)
}
