// Package manifests holds only tests: they check that deploy/Dockerfile,
// the root docker-compose.yml and the Kubernetes manifests under deploy/k8s
// parse with their own tools (the compose-spec loader, the typed Kubernetes
// API objects decoded strictly, kustomize) and agree with the otlp-arrow
// binary: real subcommands whose flags parse, the configuration defaults'
// ports, and health checks on the admin server's /readyz and /healthz.
package manifests
