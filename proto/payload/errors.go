package payload

import "errors"

var (
	// ErrTooLarge is wrapped by Encode when a single row does not fit in the
	// byte limit. It is permanent: retrying the same data cannot succeed.
	ErrTooLarge = errors.New("payload: too large")

	// ErrMalformed is wrapped by Decode when the bytes are not a valid Arrow
	// IPC stream or a batch fails validation.
	ErrMalformed = errors.New("payload: malformed")
)
