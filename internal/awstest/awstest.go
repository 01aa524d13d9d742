// Package awstest runs kumo (an AWS emulator) in-process for tests and
// points real SDK clients at it: Env and its helpers (buckets, queues, S3
// notifications). Imported only by tests.
//
// kumo keeps its services in package state, so two servers in one process
// share (and race on) them: one server serves the whole test binary, and
// each test creates uniquely named buckets and queues instead of counting
// on a clean slate.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sivchari/kumo"
)

var (
	once sync.Once
	srv  *kumo.Server
)

// Emulator returns the URL of the process's one kumo, started by the first
// call and stopped when the process exits.
func Emulator() string {
	once.Do(func() { srv = kumo.NewServer() })
	return srv.URL
}

// Env is an in-process kumo with clients on it.
type Env struct {
	URL    string
	Config aws.Config
	S3     *s3.Client
	SQS    *sqs.Client
}

// New returns clients on the process's in-process kumo, started by the
// first call.
func New(t testing.TB) *Env {
	t.Helper()
	url := Emulator() // one kumo per process: see the package comment
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
	return &Env{
		URL:    url,
		Config: cfg,
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
		SQS: sqs.NewFromConfig(cfg),
	}
}

// Name returns a unique lower-case name with prefix, valid for buckets and
// queues.
func Name(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return strings.ToLower(prefix) + "-" + hex.EncodeToString(b)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Bucket creates a uniquely named bucket and returns its name.
func (e *Env) Bucket(t testing.TB) string {
	t.Helper()
	name := Name("bucket")
	if _, err := e.S3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("awstest: create bucket %s: %v", name, err)
	}
	return name
}

// Queue is a created queue.
type Queue struct {
	URL, ARN string
}

// Queue creates a uniquely named queue with the given visibility timeout.
func (e *Env) Queue(t testing.TB, visibility time.Duration) Queue {
	t.Helper()
	c := ctx(t)
	name := Name("queue")
	out, err := e.SQS.CreateQueue(c, &sqs.CreateQueueInput{
		QueueName:  aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": strconv.Itoa(int(visibility.Seconds()))},
	})
	if err != nil {
		t.Fatalf("awstest: create queue %s: %v", name, err)
	}
	attrs, err := e.SQS.GetQueueAttributes(c, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("awstest: queue arn of %s: %v", name, err)
	}
	return Queue{URL: aws.ToString(out.QueueUrl), ARN: attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}
}

// Notify sends the bucket's ObjectCreated events under prefix to q, as the
// template's notification does.
func (e *Env) Notify(t testing.TB, bucket, prefix string, q Queue) {
	t.Helper()
	_, err := e.S3.PutBucketNotificationConfiguration(ctx(t), &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(bucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{
			QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String(q.ARN),
				Events:   []s3types.Event{s3types.EventS3ObjectCreated},
				Filter: &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{
					FilterRules: []s3types.FilterRule{{Name: s3types.FilterRuleNamePrefix, Value: aws.String(prefix)}},
				}},
			}},
		},
	})
	if err != nil {
		t.Fatalf("awstest: notification of %s: %v", bucket, err)
	}
}

// Receive waits up to timeout for at least one message of q and returns
// the messages received (deleting none).
func (e *Env) Receive(t testing.TB, q Queue, timeout time.Duration) []sqstypes.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, err := e.SQS.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"},
		})
		if err != nil {
			t.Fatalf("awstest: receive from %s: %v", q.URL, err)
		}
		if len(out.Messages) > 0 {
			return out.Messages
		}
	}
	t.Fatalf("awstest: no message on %s within %s", q.URL, timeout)
	return nil
}
