package schema

import "github.com/apache/arrow-go/v18/arrow"

var metricsSchema = arrow.NewSchema(envelopeFields(), nil)
