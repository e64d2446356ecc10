// Package ipccheck checks Arrow IPC metadata from untrusted clients before
// arrow-go reads it. arrow-go trusts the counts in a message's flatbuffer:
// it allocates a schema's fields, a field's children and custom metadata
// by the counts it finds, and a stream reader allocates a message by its
// length prefix and a body by its declared length, before anything checks
// them against the bytes actually there. A few crafted bytes can so ask
// for tens of gigabytes, which a Go program cannot survive (the runtime
// throws "out of memory"), or nest fields deep enough to overflow the
// stack. The checks here bound every such count by the bytes that hold
// it, and the fields, metadata entries and nesting by small limits that
// any real schema stays far below.
package ipccheck
