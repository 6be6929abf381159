package serving

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

// dynamoBatch is BatchWriteItem's limit of requests per call.
const dynamoBatch = 25

// ttlAttribute is the attribute DynamoDB's TTL deletes items by (epoch
// seconds); requests carry it.
const ttlAttribute = "expires_at"

var dynamoTableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// Conditions of the newer-wins writes: an item is replaced unless the
// stored one has a later dt. Dates are YYYY-MM-DD, so string order is date
// order.
const (
	condPutNotOlder    = "attribute_not_exists(#pk) OR attribute_not_exists(#dt) OR #dt <= :dt"
	condDeleteNotNewer = "attribute_not_exists(#dt) OR #dt <= :dt"
)

// dynamoTable stores items in one DynamoDB table.
//
// Unconditional writes go through BatchWriteItem, 25 at a time, re-sending
// UnprocessedItems with jittered back-off. BatchWriteItem takes no
// conditions, so the newer-wins writes are single PutItem/DeleteItem calls
// with a ConditionExpression on dt, run with bounded concurrency.
// TransactWriteItems is not used for them: every item's condition is
// independent (one stale item must not void the others, while a
// transaction fails whole), it costs twice the write units, and the local
// test server, dynalite, does not implement it.
type dynamoTable struct {
	client      *dynamodb.Client
	name        string
	maxAttempts int
	backoff     jitterBackoff
	concurrency int
	retries     *atomic.Int64
}

func openDynamo(ctx context.Context, name string, o options, c *counters) (*dynamoTable, error) {
	if !dynamoTableName.MatchString(name) {
		return nil, fmt.Errorf("dynamodb table name %q: want 3 to 255 letters, digits, '_', '-' or '.'", name)
	}
	var cfg aws.Config
	if o.awsConfig != nil {
		cfg = *o.awsConfig
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load AWS config for dynamodb table %q: %w", name, err)
		}
	}
	if o.region != "" {
		cfg.Region = o.region
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("dynamodb table %q: no AWS region (set AWS_REGION or ?region= in the serving url)", name)
	}
	backoff := jitterBackoff{base: o.baseDelay, max: o.maxDelay}
	client := dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.endpoint != "" {
			do.BaseEndpoint = aws.String(o.endpoint)
		}
		if o.httpClient != nil {
			do.HTTPClient = o.httpClient
		}
		do.Retryer = countingRetryer{
			RetryerV2: retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = o.maxAttempts
				so.Backoff = backoff
			}),
			retries: &c.retries,
		}
	})
	return &dynamoTable{
		client:      client,
		name:        name,
		maxAttempts: o.maxAttempts,
		backoff:     backoff,
		concurrency: o.concurrency,
		retries:     &c.retries,
	}, nil
}

// countingRetryer counts the SDK's retries (throttling, 5xx) for Stats.
type countingRetryer struct {
	aws.RetryerV2
	retries *atomic.Int64
}

// RetryDelay is called once before every retry the SDK makes.
func (r countingRetryer) RetryDelay(attempt int, opErr error) (time.Duration, error) {
	r.retries.Add(1)
	return r.RetryerV2.RetryDelay(attempt, opErr)
}

// jitterBackoff is exponential back-off with "equal jitter": half the
// delay fixed, half random, so retrying writers spread out.
type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer; attempt counts from 1.
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	return b.delay(attempt), nil
}

func (b jitterBackoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 30 {
		d = min(b.base<<max(attempt-1, 0), b.max)
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (t *dynamoTable) close() error { return nil }

func (t *dynamoTable) createTable(ctx context.Context) error {
	_, err := t.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(t.name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create dynamodb table %q: %w", t.name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(t.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("wait for dynamodb table %q to be active: %w", t.name, err)
	}
	return t.enableTTL(ctx)
}

// enableTTL turns on TTL deletion by expires_at. Servers that do not
// implement TTL (dynalite) are accepted: reads ignore expired items anyway,
// since DynamoDB itself deletes them only within days.
func (t *dynamoTable) enableTTL(ctx context.Context) error {
	desc, err := t.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(t.name)})
	if err != nil {
		return fmt.Errorf("describe TTL of dynamodb table %q: %w", t.name, err)
	}
	if d := desc.TimeToLiveDescription; d != nil &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = t.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(t.name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(ttlAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownOperationException" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enable TTL on %q of dynamodb table %q: %w", ttlAttribute, t.name, err)
	}
	return nil
}

func (t *dynamoTable) put(ctx context.Context, items []Item) error {
	reqs := make([]types.WriteRequest, len(items))
	for i, it := range items {
		av, err := toAttributeValues(it)
		if err != nil {
			return err
		}
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}
	}
	return t.batchWrite(ctx, reqs)
}

func (t *dynamoTable) delete(ctx context.Context, keys []key) error {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyAttributeValues(k)}}
	}
	return t.batchWrite(ctx, reqs)
}

// batchWrite sends reqs in BatchWriteItem calls of 25, concurrently.
func (t *dynamoTable) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(t.concurrency)
	for chunk := range slices.Chunk(reqs, dynamoBatch) {
		g.Go(func() error { return t.batchWriteOne(ctx, chunk) })
	}
	return g.Wait()
}

// batchWriteOne sends one batch and re-sends what DynamoDB left
// unprocessed (throttling of a partition) until all is written or the
// attempts run out.
func (t *dynamoTable) batchWriteOne(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{t.name: reqs}
	for attempt := 1; ; attempt++ {
		out, err := t.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return fmt.Errorf("dynamodb BatchWriteItem of %d items on table %q: %w", len(pending[t.name]), t.name, err)
		}
		left := out.UnprocessedItems[t.name]
		if len(left) == 0 {
			return nil
		}
		if attempt >= t.maxAttempts {
			return fmt.Errorf("dynamodb BatchWriteItem on table %q: %d of %d items still unprocessed after %d attempts",
				t.name, len(left), len(reqs), attempt)
		}
		t.retries.Add(1)
		if err := sleepCtx(ctx, t.backoff.delay(attempt)); err != nil {
			return fmt.Errorf("dynamodb BatchWriteItem on table %q: %d items unprocessed: %w", t.name, len(left), err)
		}
		pending = map[string][]types.WriteRequest{t.name: left}
	}
}

func (t *dynamoTable) putIfNotOlder(ctx context.Context, items []Item) ([]bool, error) {
	written := make([]bool, len(items))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(t.concurrency)
	for i, it := range items {
		g.Go(func() error {
			av, err := toAttributeValues(it)
			if err != nil {
				return err
			}
			_, err = t.client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                 aws.String(t.name),
				Item:                      av,
				ConditionExpression:       aws.String(condPutNotOlder),
				ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#dt": attrDT},
				ExpressionAttributeValues: map[string]types.AttributeValue{":dt": &types.AttributeValueMemberS{Value: it.DT}},
			})
			var failed *types.ConditionalCheckFailedException
			switch {
			case err == nil:
				written[i] = true
			case errors.As(err, &failed):
			default:
				return fmt.Errorf("dynamodb PutItem (%q, %q) dt %s on table %q: %w", it.PK, it.SK, it.DT, t.name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return written, nil
}

func (t *dynamoTable) deleteIfNotNewer(ctx context.Context, keys []key, dt string) (int, error) {
	var deleted atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(t.concurrency)
	for _, k := range keys {
		g.Go(func() error {
			out, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 aws.String(t.name),
				Key:                       keyAttributeValues(k),
				ConditionExpression:       aws.String(condDeleteNotNewer),
				ExpressionAttributeNames:  map[string]string{"#dt": attrDT},
				ExpressionAttributeValues: map[string]types.AttributeValue{":dt": &types.AttributeValueMemberS{Value: dt}},
				ReturnValues:              types.ReturnValueAllOld,
			})
			var failed *types.ConditionalCheckFailedException
			switch {
			case err == nil:
				if len(out.Attributes) > 0 {
					deleted.Add(1)
				}
			case errors.As(err, &failed):
			default:
				return fmt.Errorf("dynamodb DeleteItem (%q, %q) dt %s on table %q: %w", k.PK, k.SK, dt, t.name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return int(deleted.Load()), nil
}

func (t *dynamoTable) get(ctx context.Context, k key) (Item, bool, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            keyAttributeValues(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Item{}, false, fmt.Errorf("dynamodb GetItem (%q, %q) on table %q: %w", k.PK, k.SK, t.name, err)
	}
	if len(out.Item) == 0 {
		return Item{}, false, nil
	}
	it, err := fromAttributeValues(out.Item)
	if err != nil {
		return Item{}, false, fmt.Errorf("dynamodb table %q: %w", t.name, err)
	}
	return it, true, nil
}

func (t *dynamoTable) query(ctx context.Context, pk, skPrefix string) ([]Item, error) {
	var items []Item
	err := t.queryPages(ctx, pk, t.queryInput(pk, skPrefix), func(av map[string]types.AttributeValue) error {
		it, err := fromAttributeValues(av)
		if err != nil {
			return fmt.Errorf("dynamodb table %q: %w", t.name, err)
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

func (t *dynamoTable) queryKeys(ctx context.Context, pk, skPrefix string) ([]key, error) {
	in := t.queryInput(pk, skPrefix)
	in.ExpressionAttributeNames["#sk"] = attrSK
	in.ProjectionExpression = aws.String("#sk")
	var keys []key
	err := t.queryPages(ctx, pk, in, func(av map[string]types.AttributeValue) error {
		sk, ok := av[attrSK].(*types.AttributeValueMemberS)
		if !ok {
			return fmt.Errorf("dynamodb table %q: an item of %q has no string %s", t.name, pk, attrSK)
		}
		keys = append(keys, key{PK: pk, SK: sk.Value})
		return nil
	})
	return keys, err
}

// queryInput reads the items of pk whose SK starts with skPrefix.
func (t *dynamoTable) queryInput(pk, skPrefix string) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(t.name),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	if skPrefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :sk)")
		in.ExpressionAttributeNames["#sk"] = attrSK
		in.ExpressionAttributeValues[":sk"] = &types.AttributeValueMemberS{Value: skPrefix}
	}
	return in
}

// queryPages runs in, the query of partition pk, and hands every item of every page to fn.
func (t *dynamoTable) queryPages(ctx context.Context, pk string, in *dynamodb.QueryInput, fn func(map[string]types.AttributeValue) error) error {
	for p := dynamodb.NewQueryPaginator(t.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("dynamodb Query %q on table %q: %w", pk, t.name, err)
		}
		for _, av := range page.Items {
			if err := fn(av); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *dynamoTable) scan(ctx context.Context, pkPrefix string) ([]Item, error) {
	in := &dynamodb.ScanInput{
		TableName:      aws.String(t.name),
		ConsistentRead: aws.Bool(true),
	}
	if pkPrefix != "" {
		in.FilterExpression = aws.String("begins_with(#pk, :pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": attrPK}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pkPrefix}}
	}
	var items []Item
	for p := dynamodb.NewScanPaginator(t.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("dynamodb Scan of PK prefix %q on table %q: %w", pkPrefix, t.name, err)
		}
		for _, av := range page.Items {
			it, err := fromAttributeValues(av)
			if err != nil {
				return nil, fmt.Errorf("dynamodb table %q: %w", t.name, err)
			}
			items = append(items, it)
		}
	}
	sortItems(items)
	return items, nil
}

func keyAttributeValues(k key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

func toAttributeValues(it Item) (map[string]types.AttributeValue, error) {
	av := keyAttributeValues(it.key())
	if it.DT != "" {
		av[attrDT] = &types.AttributeValueMemberS{Value: it.DT}
	}
	for name, v := range it.Attrs {
		switch v := v.(type) {
		case string:
			av[name] = &types.AttributeValueMemberS{Value: v}
		case int64:
			av[name] = &types.AttributeValueMemberN{Value: fmt.Sprint(v)}
		case float64:
			av[name] = &types.AttributeValueMemberN{Value: formatFloat(v)}
		case bool:
			av[name] = &types.AttributeValueMemberBOOL{Value: v}
		case []string:
			// A list, not a string set: it keeps order (genres) and may
			// hold duplicates.
			l := make([]types.AttributeValue, len(v))
			for i, s := range v {
				l[i] = &types.AttributeValueMemberS{Value: s}
			}
			av[name] = &types.AttributeValueMemberL{Value: l}
		default:
			return nil, fmt.Errorf("item (%q, %q): attribute %q has unsupported type %T", it.PK, it.SK, name, v)
		}
	}
	return av, nil
}

func fromAttributeValues(av map[string]types.AttributeValue) (Item, error) {
	var it Item
	it.Attrs = make(map[string]any, len(av))
	for name, v := range av {
		switch name {
		case attrPK, attrSK, attrDT:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return Item{}, fmt.Errorf("item attribute %q is %T, want a string", name, v)
			}
			switch name {
			case attrPK:
				it.PK = s.Value
			case attrSK:
				it.SK = s.Value
			default:
				it.DT = s.Value
			}
			continue
		}
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			it.Attrs[name] = v.Value
		case *types.AttributeValueMemberN:
			n, err := parseNumber(v.Value)
			if err != nil {
				return Item{}, fmt.Errorf("item attribute %q: %w", name, err)
			}
			it.Attrs[name] = n
		case *types.AttributeValueMemberBOOL:
			it.Attrs[name] = v.Value
		case *types.AttributeValueMemberL:
			l := make([]string, len(v.Value))
			for i, e := range v.Value {
				s, ok := e.(*types.AttributeValueMemberS)
				if !ok {
					return Item{}, fmt.Errorf("item attribute %q: list element %d is %T, want a string", name, i, e)
				}
				l[i] = s.Value
			}
			it.Attrs[name] = l
		case *types.AttributeValueMemberNULL:
		default:
			return Item{}, fmt.Errorf("item attribute %q has unsupported type %T", name, v)
		}
	}
	return it, nil
}
