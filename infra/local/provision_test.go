package local

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sivchari/kumo"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// newKumo starts an in-process emulator for one test. Its state is shared
// with every other in the process: tests use random stack names.
func newKumo(t *testing.T) AWSClients {
	t.Helper()
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	return NewAWSClients(srv.URL, DefaultRegion)
}

func provisionTestStack(t *testing.T, c AWSClients) (*samtpl.Template, *Resources) {
	t.Helper()
	tpl, err := samtpl.Load("testdata/provision.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Provision(t.Context(), tpl, c, randomName("prov-"), DefaultRegion, nil)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return tpl, r
}

func TestProvision(t *testing.T) {
	c := newKumo(t)
	tpl, r := provisionTestStack(t, c)
	ctx := t.Context()

	t.Run("names", func(t *testing.T) {
		if got, want := r.Queues["WorkQueue"].Name, r.StackName+"-WorkQueue"; got != want {
			t.Errorf("WorkQueue name = %q, want %q (generated)", got, want)
		}
		if got, want := r.Queues["WorkDLQ"].Name, r.StackName+"-dead-letters"; got != want {
			t.Errorf("WorkDLQ name = %q, want %q (QueueName)", got, want)
		}
		if got, want := r.Buckets["Uploads"].Name, r.StackName+"-uploads-"+r.AccountID; got != want {
			t.Errorf("bucket name = %q, want %q", got, want)
		}
	})

	t.Run("queue attributes and redrive", func(t *testing.T) {
		out, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(r.Queues["WorkQueue"].URL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if v := out.Attributes["VisibilityTimeout"]; v != "45" {
			t.Errorf("VisibilityTimeout = %q, want 45", v)
		}
		var rp struct {
			Target string `json:"deadLetterTargetArn"`
			Max    any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &rp); err != nil {
			t.Fatalf("RedrivePolicy %q: %v", out.Attributes["RedrivePolicy"], err)
		}
		if rp.Target != r.Queues["WorkDLQ"].ARN || strings.Trim(jsonString(rp.Max), `"`) != "3" {
			t.Errorf("RedrivePolicy = %+v, want %s and 3", rp, r.Queues["WorkDLQ"].ARN)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		again, err := Provision(ctx, tpl, c, r.StackName, DefaultRegion, nil)
		if err != nil {
			t.Fatalf("second Provision: %v", err)
		}
		if again.Queues["WorkQueue"] != r.Queues["WorkQueue"] || again.Buckets["Uploads"] != r.Buckets["Uploads"] {
			t.Errorf("second Provision gave %+v, want %+v", again, r)
		}
	})

	t.Run("uploads under the prefix reach the queue", func(t *testing.T) {
		bucket := r.Buckets["Uploads"].Name
		for _, key := range []string{"other/skip.csv", "imports/t1/a b+c.csv"} {
			if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("phone\n1\n")}); err != nil {
				t.Fatalf("put %s: %v", key, err)
			}
		}
		var keys []string
		eventually(t, 10*time.Second, "the S3 event in "+r.Queues["WorkQueue"].Name, func(ctx context.Context) (bool, error) {
			out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.Queues["WorkQueue"].URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				return false, err
			}
			for _, m := range out.Messages {
				var ev events.S3Event
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
					return false, err
				}
				for _, rec := range ev.Records {
					k, _ := url.QueryUnescape(rec.S3.Object.Key)
					keys = append(keys, k)
				}
			}
			return len(keys) > 0, nil
		})
		if len(keys) != 1 || keys[0] != "imports/t1/a b+c.csv" {
			t.Errorf("keys notified = %q, want only imports/t1/a b+c.csv", keys)
		}
	})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
