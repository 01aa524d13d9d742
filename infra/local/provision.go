package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/wuzapi-manager/wuzapi-manager/infra/samtpl"
)

// defaultAccountID is the account assumed until the endpoint's queue ARNs
// tell the real one.
const defaultAccountID = "000000000000"

// AWSClients are the SDK clients provisioning and the pollers use.
type AWSClients struct {
	SQS *sqs.Client
	S3  *s3.Client
}

// NewAWSClients returns clients for an emulator (or LocalStack) at endpoint,
// with static test credentials: they never read the developer's AWS
// profile, so a local run cannot touch a real account.
func NewAWSClients(endpoint, region string) AWSClients {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	return AWSClients{
		SQS: sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) }),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
	}
}

// Resources are the physical resources of a provisioned stack, by logical id.
type Resources struct {
	StackName string
	Region    string
	AccountID string
	Queues    map[string]QueueResource
	Buckets   map[string]BucketResource
}

// QueueResource is a provisioned queue.
type QueueResource struct {
	Name string
	URL  string
	ARN  string
}

// BucketResource is a provisioned bucket.
type BucketResource struct {
	Name string
	ARN  string
}

// FunctionName is the physical name of a function: <stack>-<logical id>.
func (r *Resources) FunctionName(logicalID string) string {
	return r.StackName + "-" + logicalID
}

// Scope is the evaluation scope of the stack: pseudo parameters, the given
// parameter values, and the physical resources.
func (r *Resources) Scope(tpl *samtpl.Template, params map[string]string) samtpl.Scope {
	return samtpl.Scope{
		StackName:  r.StackName,
		Region:     r.Region,
		AccountID:  r.AccountID,
		Parameters: params,
		Resource: func(id, attr string) (string, error) {
			return r.attribute(tpl.ResourceType(id), id, attr)
		},
	}
}

func (r *Resources) attribute(typ, id, attr string) (string, error) {
	switch typ {
	case samtpl.TypeQueue:
		q, ok := r.Queues[id]
		if !ok {
			break
		}
		switch attr {
		case "", "QueueUrl":
			return q.URL, nil
		case "Arn":
			return q.ARN, nil
		case "QueueName":
			return q.Name, nil
		}
	case samtpl.TypeBucket:
		b, ok := r.Buckets[id]
		if !ok {
			break
		}
		switch attr {
		case "":
			return b.Name, nil
		case "Arn":
			return b.ARN, nil
		case "DomainName", "RegionalDomainName":
			return b.Name + ".s3." + r.Region + ".amazonaws.com", nil
		}
	case samtpl.TypeFunction:
		switch attr {
		case "":
			return r.FunctionName(id), nil
		case "Arn":
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", r.Region, r.AccountID, r.FunctionName(id)), nil
		}
	case samtpl.TypeHTTPAPI:
		if attr == "" {
			return "local", nil
		}
	default:
		return "", fmt.Errorf("resource %s of type %s has no local value", id, typ)
	}
	if attr == "" {
		return "", fmt.Errorf("resource %s is not provisioned", id)
	}
	return "", fmt.Errorf("resource %s has no attribute %s locally", id, attr)
}

// Provision creates on the endpoint what the template declares: every
// queue with its attributes and redrive policy, every bucket and its queue
// notifications. It is idempotent: resources that exist are updated in
// place. Physical names are the template's QueueName/BucketName evaluated
// for the stack, or <stack>-<LogicalId> (lower case for buckets).
func Provision(ctx context.Context, tpl *samtpl.Template, c AWSClients, stackName, region string, params map[string]string) (*Resources, error) {
	r := &Resources{
		StackName: stackName,
		Region:    region,
		AccountID: defaultAccountID,
		Queues:    map[string]QueueResource{},
		Buckets:   map[string]BucketResource{},
	}
	if err := provisionQueues(ctx, tpl, c.SQS, r, params); err != nil {
		return nil, err
	}
	for _, b := range tpl.Buckets {
		if err := provisionBucket(ctx, tpl, c.S3, r, params, b); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// provisionQueues creates the queues dead-letter targets first, so that a
// redrive policy can name its target's ARN.
func provisionQueues(ctx context.Context, tpl *samtpl.Template, client *sqs.Client, r *Resources, params map[string]string) error {
	pending := append([]samtpl.Queue(nil), tpl.Queues...)
	for len(pending) > 0 {
		var next []samtpl.Queue
		for _, q := range pending {
			if q.DeadLetter != nil {
				if _, ok := r.Queues[q.DeadLetter.Queue]; !ok {
					next = append(next, q)
					continue
				}
			}
			if err := provisionQueue(ctx, tpl, client, r, params, q); err != nil {
				return err
			}
		}
		if len(next) == len(pending) {
			return fmt.Errorf("queues %s: their dead-letter queues form a cycle", queueIDs(next))
		}
		pending = next
	}
	return nil
}

func queueIDs(qs []samtpl.Queue) string {
	ids := make([]string, len(qs))
	for i, q := range qs {
		ids[i] = q.LogicalID
	}
	return strings.Join(ids, ", ")
}

func provisionQueue(ctx context.Context, tpl *samtpl.Template, client *sqs.Client, r *Resources, params map[string]string, q samtpl.Queue) error {
	name := r.StackName + "-" + q.LogicalID
	if !q.QueueName.IsZero() {
		var err error
		if name, err = tpl.Eval(q.QueueName, r.Scope(tpl, params)); err != nil {
			return fmt.Errorf("name of queue %s: %w", q.LogicalID, err)
		}
	}
	attrs := map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout):             strconv.Itoa(q.VisibilityTimeout),
		string(sqstypes.QueueAttributeNameDelaySeconds):                  strconv.Itoa(q.DelaySeconds),
		string(sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds): strconv.Itoa(q.ReceiveMessageWaitTimeSeconds),
	}
	if q.MessageRetentionPeriod > 0 {
		attrs[string(sqstypes.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(q.MessageRetentionPeriod)
	}
	if q.DeadLetter != nil {
		policy, err := json.Marshal(map[string]any{
			"deadLetterTargetArn": r.Queues[q.DeadLetter.Queue].ARN,
			"maxReceiveCount":     q.DeadLetter.MaxReceiveCount,
		})
		if err != nil {
			return fmt.Errorf("redrive policy of queue %s: %w", q.LogicalID, err)
		}
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = string(policy)
	}
	var url string
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	switch {
	case err == nil:
		url = aws.ToString(out.QueueUrl)
	case isAPIError(err, "QueueAlreadyExists", "QueueNameExists", "AWS.SimpleQueueService.QueueNameExists"):
		got, gerr := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if gerr != nil {
			return fmt.Errorf("find existing queue %s: %w", name, gerr)
		}
		url = aws.ToString(got.QueueUrl)
		if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: got.QueueUrl, Attributes: attrs}); err != nil {
			return fmt.Errorf("update queue %s: %w", name, err)
		}
	default:
		return fmt.Errorf("create queue %s: %w", name, err)
	}
	ga, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("get ARN of queue %s: %w", name, err)
	}
	arn := ga.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if parts := strings.Split(arn, ":"); len(parts) == 6 && parts[4] != "" {
		r.AccountID = parts[4]
	}
	r.Queues[q.LogicalID] = QueueResource{Name: name, URL: url, ARN: arn}
	return nil
}

func provisionBucket(ctx context.Context, tpl *samtpl.Template, client *s3.Client, r *Resources, params map[string]string, b samtpl.Bucket) error {
	name := strings.ToLower(r.StackName + "-" + b.LogicalID)
	if !b.BucketName.IsZero() {
		var err error
		if name, err = tpl.Eval(b.BucketName, r.Scope(tpl, params)); err != nil {
			return fmt.Errorf("name of bucket %s: %w", b.LogicalID, err)
		}
	}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
		in := &s3.CreateBucketInput{Bucket: aws.String(name)}
		if r.Region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r.Region)}
		}
		if _, err := client.CreateBucket(ctx, in); err != nil && !isAPIError(err, "BucketAlreadyOwnedByYou") {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	r.Buckets[b.LogicalID] = BucketResource{Name: name, ARN: "arn:aws:s3:::" + name}
	cfg := &s3types.NotificationConfiguration{}
	for _, n := range b.Notifications {
		qc := s3types.QueueConfiguration{
			QueueArn: aws.String(r.Queues[n.Queue].ARN),
			Events:   []s3types.Event{s3types.Event(n.Event)},
		}
		var rules []s3types.FilterRule
		if n.Prefix != "" {
			rules = append(rules, s3types.FilterRule{Name: s3types.FilterRuleNamePrefix, Value: aws.String(n.Prefix)})
		}
		if n.Suffix != "" {
			rules = append(rules, s3types.FilterRule{Name: s3types.FilterRuleNameSuffix, Value: aws.String(n.Suffix)})
		}
		if rules != nil {
			qc.Filter = &s3types.NotificationConfigurationFilter{Key: &s3types.S3KeyFilter{FilterRules: rules}}
		}
		cfg.QueueConfigurations = append(cfg.QueueConfigurations, qc)
	}
	if _, err := client.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket:                    aws.String(name),
		NotificationConfiguration: cfg,
	}); err != nil {
		return fmt.Errorf("set notifications of bucket %s: %w", name, err)
	}
	return nil
}

func isAPIError(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
