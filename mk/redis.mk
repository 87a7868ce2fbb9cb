# The Redis fleet (issue 11): redisstore's tests run a real redis-server
# (Debian's package) on a free loopback port. They are part of test-go's
# `go test ./...`; test-redis runs the fleet tests once more, verbosely, to
# print the counts they observed (grants, renewals, voided requests).
TEST_TARGETS += test-redis

.PHONY: redis-server test-redis bench-fleet

# Installs redis-server where it is missing and we may (root with apt-get);
# elsewhere the tests say why they skip.
redis-server:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } || \
	  echo "redis-server is missing and cannot be installed here: the redisstore tests will skip" >&2

# test-go's go test ./... needs the server too.
test-go: redis-server

test-redis: redis-server
	@out=$$(mktemp); rc=0; $(GO) test -race -count=1 -run 'Fleet' -v ./redisstore/ > $$out 2>&1 || rc=$$?; \
	  sed -n 's/^ *fleet_test.go:[0-9]*: /redis fleet: /p' $$out; \
	  if [ $$rc -ne 0 ]; then cat $$out; fi; rm -f $$out; exit $$rc

bench-fleet:
	bash bench/fleet.sh
