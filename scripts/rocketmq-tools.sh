#!/usr/bin/env bash
# Fetches Apache RocketMQ's admin tool (org.apache.rocketmq:rocketmq-tools, the jar behind `mqadmin`)
# and its dependencies from Maven Central into a cache directory, then prints the Java classpath.
# The slow side-by-side suite (test/rocketmq/) runs
#   java -cp "$(scripts/rocketmq-tools.sh)" org.apache.rocketmq.tools.command.MQAdminStartup <cmd> ...
# The download happens once; later runs only print the classpath.
#
# Environment:
#   ROCKETMQ_TOOLS_VERSION  version to fetch (default: 5.3.3, the newest 5.3 whose modules all resolve from Maven Central)
#   ROCKETMQ_TOOLS_CACHE    cache directory (default: bench/.cache/rocketmq-tools under the repository)
set -euo pipefail

version="${ROCKETMQ_TOOLS_VERSION:-5.3.3}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${ROCKETMQ_TOOLS_CACHE:-$repo_root/bench/.cache/rocketmq-tools}/$version"
exec "$repo_root/scripts/maven-classpath.sh" rocketmq-tools.sh "$cache" "org.apache.rocketmq:rocketmq-tools:$version"
