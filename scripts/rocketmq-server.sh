#!/usr/bin/env bash
# Fetches Apache RocketMQ's name server and broker (org.apache.rocketmq:rocketmq-namesrv and
# org.apache.rocketmq:rocketmq-broker) with every runtime dependency from Maven Central into a cache
# directory, then prints the Java classpath. test/support/rocketmq-process.ts runs
#   java -cp "$(scripts/rocketmq-server.sh)" org.apache.rocketmq.namesrv.NamesrvStartup ...
#   java -cp "$(scripts/rocketmq-server.sh)" org.apache.rocketmq.broker.BrokerStartup -c broker.conf
# so that our suites can run against the real thing. The download happens once; later runs only
# print the classpath. Progress and errors go to stderr, so stdout is the classpath alone.
#
# Environment:
#   ROCKETMQ_SERVER_VERSION  version to fetch (default: 5.3.3, the same as scripts/rocketmq-tools.sh and
#                            the newest 5.3 whose modules are all on Maven Central: 5.3.4 has broker and
#                            namesrv jars there but not the client, remoting, filter, auth, srvutil, tools or
#                            tiered-store jars they depend on, so it cannot resolve)
#   ROCKETMQ_SERVER_CACHE    cache directory (default: bench/.cache/rocketmq-server under the repository)
set -euo pipefail

version="${ROCKETMQ_SERVER_VERSION:-5.3.3}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${ROCKETMQ_SERVER_CACHE:-$repo_root/bench/.cache/rocketmq-server}/$version"
exec "$repo_root/scripts/maven-classpath.sh" rocketmq-server.sh "$cache" "org.apache.rocketmq:rocketmq-namesrv:$version" "org.apache.rocketmq:rocketmq-broker:$version"
