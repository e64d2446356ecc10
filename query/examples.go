package query

// Example is a ready-made query, shown in the dashboard's SQL box and in
// docs/query.md (a test keeps the two equal and runs each one).
type Example struct {
	Title string `json:"title"`
	SQL   string `json:"sql"`
}

// Examples are the ready-made queries.
var Examples = []Example{
	{"Slowest routes", `SELECT attributes_str['http.route'] AS route,
       count(*) AS spans,
       round(avg(duration_ms), 3) AS avg_ms,
       round(quantile_cont(duration_ms, 0.99), 3) AS p99_ms,
       round(max(duration_ms), 3) AS max_ms
FROM traces
WHERE attributes_str['http.route'] IS NOT NULL
GROUP BY route
ORDER BY p99_ms DESC
LIMIT 20`},
	{"Error rate per service per minute", `SELECT date_trunc('minute', start_time) AS minute,
       service_name,
       count(*) AS spans,
       count(*) FILTER (WHERE status_code = 2) AS errors,
       round(100.0 * count(*) FILTER (WHERE status_code = 2) / count(*), 2) AS error_pct
FROM traces
GROUP BY minute, service_name
ORDER BY minute, service_name`},
	{"p50 and p99 duration per span name", `SELECT service_name,
       name,
       count(*) AS spans,
       round(quantile_cont(duration_ms, 0.5), 3) AS p50_ms,
       round(quantile_cont(duration_ms, 0.99), 3) AS p99_ms
FROM traces
GROUP BY service_name, name
ORDER BY p99_ms DESC
LIMIT 50`},
	{"Log records of a trace", `-- The slowest failed trace; for another one write
-- WHERE trace_id = unhex('<32 hex digits>')
SELECT time,
       service_name,
       severity_text,
       coalesce(body, body_json) AS body,
       span_id
FROM logs
WHERE trace_id = (SELECT trace_id FROM traces
                  WHERE status_code = 2
                  ORDER BY duration_ms DESC, trace_id
                  LIMIT 1)
ORDER BY time, span_id`},
	{"A histogram's p99 from its buckets", `-- The upper bound of the bucket that holds the 99th percentile
-- of each data point (NULL: the overflow bucket, above the last bound)
SELECT time,
       service_name,
       metric_name,
       count,
       explicit_bounds[list_position(
           list_transform(generate_series(1, len(bucket_counts)),
                          lambda i: list_sum(bucket_counts[1:i]) >= 0.99 * count),
           true)] AS p99_le
FROM metrics
WHERE metric_type = 'histogram' AND count > 0
ORDER BY metric_name, service_name, time`},
	{"Spans, data points and log records per service", `SELECT service_name, 'traces' AS signal, count(*) AS rows FROM traces GROUP BY ALL
UNION ALL
SELECT service_name, 'metrics', count(*) FROM metrics GROUP BY ALL
UNION ALL
SELECT service_name, 'logs', count(*) FROM logs GROUP BY ALL
ORDER BY service_name, signal`},
}
