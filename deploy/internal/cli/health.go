package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// cmdHealth fetches a URL and succeeds when it answers 200: the health check
// of images that have no curl (`otlp-arrow health http://127.0.0.1:8080/readyz`).
func cmdHealth(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: otlp-arrow health URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s: %s", args[0], resp.Status, body)
	}
	fmt.Fprintf(env.stdout, "%s", body)
	return nil
}
