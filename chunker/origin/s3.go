package origin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3Options configure an origin in an S3 bucket.
type S3Options struct {
	Options
	// URL is s3://bucket/prefix/ (the prefix may be empty). Required.
	URL string
	// Endpoint is the S3 API's URL, e.g. https://minio.example:9000 for an
	// S3-compatible store (media.s3.endpoint). Empty means AWS.
	Endpoint string
	// Region signs the requests (media.s3.region). Default: the AWS
	// configuration's (AWS_REGION, the profile), else us-east-1 with an
	// Endpoint; AWS itself needs one.
	Region string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than the host name (bucket.endpoint/key), as most
	// S3-compatible stores want (media.s3.path_style).
	PathStyle bool
}

// NewS3 returns the origin at opts.URL. Credentials come from the standard
// AWS chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, the shared config and credentials files with
// AWS_PROFILE (SSO, assumed roles and credential_process included), web
// identity, and the container's or instance's role. They are looked up on
// the first request, not here: an origin unreachable at start is not a
// configuration error.
func NewS3(ctx context.Context, opts S3Options) (*Remote, error) {
	bucket, prefix, err := ParseS3(opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Endpoint != "" {
		if err := checkEndpoint(opts.Endpoint); err != nil {
			return nil, err
		}
	}
	// A buildable client, so that AWS_CA_BUNDLE still applies.
	client := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = 64
		t.DisableCompression = true
	})
	load := []func(*config.LoadOptions) error{
		config.WithHTTPClient(client),
		// One retry, reelcache's own, within media.origin_timeout.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		// Ranged GETs have no whole-object checksum to validate.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	if cfg.Region == "" {
		if opts.Endpoint == "" {
			return nil, errors.New("no region for AWS S3: set media.s3.region (or AWS_REGION, or a profile's region)")
		}
		cfg.Region = "us-east-1" // what S3-compatible stores expect by default
	}
	if cfg.Credentials != nil {
		cfg.Credentials = markedCredentials{cfg.Credentials}
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b := &s3Backend{client: s3c, bucket: bucket, prefix: prefix}
	return newRemote(b, "s3://"+bucket+"/"+prefix, opts.Options), nil
}

// bucketName is what S3 accepts as a bucket name (general purpose buckets).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseS3 splits s3://bucket/prefix/ into the bucket and the prefix, which
// is empty or ends in "/".
func ParseS3(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" {
		return "", "", fmt.Errorf("%s: want s3://bucket/prefix/", Redact(raw))
	}
	if u.User != nil {
		return "", "", errors.New("s3:// URLs take no credentials: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role")
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("%s: the bucket is missing (s3://bucket/prefix/)", Redact(raw))
	}
	if !bucketName.MatchString(u.Host) {
		return "", "", fmt.Errorf("bucket %q: 3 to 63 lower-case letters, digits, dots and hyphens", u.Host)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%s: an s3:// URL has no query or fragment", Redact(raw))
	}
	prefix = strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// checkEndpoint checks an S3 endpoint URL.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("endpoint %s: not a URL: want https://host[:port]", Redact(raw))
	}
	if err := CheckEndpointSecrets(u); err != nil {
		return fmt.Errorf("endpoint %s: %w", Redact(raw), err)
	}
	return nil
}

// CheckEndpointSecrets refuses an S3 endpoint URL with user info or a query
// string: the SDK would put either in its errors, which reach the log on
// every origin check (issue 21 item 1), and neither is how S3 takes
// credentials.
func CheckEndpointSecrets(u *url.URL) error {
	if u.User != nil {
		return errors.New("must not hold user info: S3 credentials come from the AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role)")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return errors.New("must not have a query string or fragment: want https://host[:port]")
	}
	return nil
}

// markedCredentials marks a failure to find credentials, so that it is
// reported as access refused, not as an origin that is down.
type markedCredentials struct{ aws.CredentialsProvider }

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return c, fmt.Errorf("%w: %v", errNoCredentials, err)
	}
	return c, err
}

// s3Backend speaks the S3 API through the AWS SDK.
type s3Backend struct {
	client         *s3.Client
	bucket, prefix string
}

// s3Reply turns an SDK error with an HTTP status into a reply.
func s3Reply(err error) (reply, error) {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.HTTPStatusCode() == 0 {
		return reply{}, err // no reply: refused, reset, timed out
	}
	rep := reply{status: re.HTTPStatusCode()}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		rep.code = ae.ErrorCode()
	}
	return rep, nil
}

func (b *s3Backend) head(ctx context.Context, name string) (reply, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(b.prefix + name)})
	if err != nil {
		return s3Reply(err)
	}
	rep := reply{status: http.StatusOK}
	rep.val = s3Validators(out.ContentLength, out.ETag, out.LastModified)
	rep.val.contentType = aws.ToString(out.ContentType)
	return rep, nil
}

func s3Validators(size *int64, etag *string, lastMod *time.Time) validators {
	v := validators{size: aws.ToInt64(size), etag: aws.ToString(etag)}
	if lastMod != nil {
		v.lastMod = lastMod.Truncate(time.Second)
	}
	return v
}

func (b *s3Backend) get(ctx context.Context, name string, off, n int64, c conditions) (reply, error) {
	in := &s3.GetObjectInput{
		Bucket: &b.bucket, Key: aws.String(b.prefix + name),
		Range: aws.String("bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10)),
	}
	if c.ifMatch != "" {
		in.IfMatch = aws.String(c.ifMatch)
	} else if !c.ifUnmodifiedSince.IsZero() {
		in.IfUnmodifiedSince = aws.Time(c.ifUnmodifiedSince)
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return s3Reply(err)
	}
	rep := reply{status: http.StatusOK, length: aws.ToInt64(out.ContentLength), body: out.Body}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		rep.status = raw.StatusCode
	}
	if out.ContentLength == nil {
		rep.length = -1
	}
	rep.val = s3Validators(nil, out.ETag, out.LastModified)
	if e := aws.ToString(out.ContentEncoding); e != "" && !strings.EqualFold(e, "identity") {
		rep.encoding = e
	}
	rep.crStart, rep.crEnd, rep.crTotal, rep.crOK = parseContentRange(aws.ToString(out.ContentRange))
	return rep, nil
}

// list pages through ListObjectsV2 under the prefix.
func (b *s3Backend) list(ctx context.Context, keep func(name string) bool) ([]listed, error) {
	var out []listed
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: aws.String(b.prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if rep, err := s3Reply(err); err == nil {
				return nil, &statusErr{rep}
			}
			return nil, err
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), b.prefix)
			if !fs.ValidPath(name) || name == "." || strings.HasSuffix(name, "/") || !keep(name) {
				continue
			}
			out = append(out, listed{name: name, val: s3Validators(o.Size, o.ETag, o.LastModified), described: true})
		}
	}
	slices.SortFunc(out, func(a, b listed) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// check lists at most one key under the prefix: it needs the same
// permission (s3:ListBucket) as listing.
func (b *s3Backend) check(ctx context.Context) (reply, error) {
	_, err := b.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b.bucket, Prefix: aws.String(b.prefix), MaxKeys: aws.Int32(1)})
	if err != nil {
		return s3Reply(err)
	}
	return reply{status: http.StatusOK}, nil
}
