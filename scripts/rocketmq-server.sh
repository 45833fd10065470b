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
lib="$cache/lib"

if ! command -v java >/dev/null 2>&1; then
  echo "rocketmq-server.sh: java is not installed (apt-get install openjdk-17-jre-headless)" >&2
  exit 2
fi

if [ ! -f "$cache/.complete" ]; then
  if ! command -v mvn >/dev/null 2>&1; then
    echo "rocketmq-server.sh: mvn is not installed (apt-get install maven)" >&2
    exit 2
  fi
  mkdir -p "$cache"
  # A throwaway pom whose only dependencies are the two server jars; copy-dependencies puts them and
  # everything they need at run time (store, remoting, common, netty, rocksdb, logback, ...) into lib/.
  cat > "$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tidemq.test</groupId>
  <artifactId>rocketmq-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-namesrv</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-broker</artifactId>
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
  echo "rocketmq-server.sh: no jars in $lib; delete $cache and retry" >&2
  exit 1
fi
printf '%s\n' "$classpath"
