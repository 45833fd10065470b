#!/usr/bin/env bash
# Fetches Apache RocketMQ's admin tool (org.apache.rocketmq:rocketmq-tools, the jar behind `mqadmin`)
# and its dependencies from Maven Central into a cache directory, then prints the Java classpath.
# The slow side-by-side suite (test/rocketmq/) runs
#   java -cp "$(scripts/rocketmq-tools.sh)" org.apache.rocketmq.tools.command.MQAdminStartup <cmd> ...
# The download happens once; later runs only print the classpath.
#
# Environment:
#   ROCKETMQ_TOOLS_VERSION  version to fetch (default: 5.3.3, the newest 5.3 release on Maven Central)
#   ROCKETMQ_TOOLS_CACHE    cache directory (default: bench/.cache/rocketmq-tools under the repository)
set -euo pipefail

version="${ROCKETMQ_TOOLS_VERSION:-5.3.3}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${ROCKETMQ_TOOLS_CACHE:-$repo_root/bench/.cache/rocketmq-tools}/$version"
lib="$cache/lib"

if ! command -v java >/dev/null 2>&1; then
  echo "rocketmq-tools.sh: java is not installed (apt-get install openjdk-17-jre-headless)" >&2
  exit 2
fi

if [ ! -f "$cache/.complete" ]; then
  if ! command -v mvn >/dev/null 2>&1; then
    echo "rocketmq-tools.sh: mvn is not installed (apt-get install maven)" >&2
    exit 2
  fi
  mkdir -p "$cache"
  # A throwaway pom whose only dependency is the tools jar; copy-dependencies puts it and everything
  # it needs (client, remoting, common, logging, netty, fastjson, ...) into lib/.
  cat > "$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tidemq.test</groupId>
  <artifactId>rocketmq-tools-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-tools</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  rm -rf "$lib"
  # Resolved from Maven Central, the only repository the stock Maven settings know.
  mvn -B -q -Dstyle.color=never -f "$cache/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" -DincludeScope=runtime >&2
  touch "$cache/.complete"
fi

classpath=""
for jar in "$lib"/*.jar; do
  classpath="${classpath:+$classpath:}$jar"
done
if [ -z "$classpath" ]; then
  echo "rocketmq-tools.sh: no jars in $lib; delete $cache and retry" >&2
  exit 1
fi
printf '%s\n' "$classpath"
