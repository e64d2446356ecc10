package schema

import "github.com/apache/arrow-go/v18/arrow"

var logsSchema = arrow.NewSchema(envelopeFields(), nil)
