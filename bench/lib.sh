# lib.sh: what the bench scripts share (sourced; needs a log function).

# PID is the target process the scripts start; stop ends it (also on exit).
PID=""
stop() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		wait "$PID" 2>/dev/null || true
	fi
	PID=""
}
trap stop EXIT

wait_port() { # host port
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	log "nothing listens on $1:$2"
	return 1
}
