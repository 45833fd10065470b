#!/usr/bin/env bash
# Fetches Maven artifacts with every runtime dependency from Maven Central into a cache directory
# (once), then prints their Java classpath on stdout; progress and errors go to stderr.
#
#   scripts/maven-classpath.sh <name> <cache-dir> <groupId:artifactId:version>...
#
# Used by scripts/rocketmq-tools.sh and scripts/rocketmq-server.sh to run Apache RocketMQ's own
# programs beside TideMQ in the slow side-by-side suites and the race.
set -euo pipefail

name="$1"; cache="$2"; shift 2
lib="$cache/lib"

if ! command -v java >/dev/null 2>&1; then
  echo "$name: java is not installed (apt-get install openjdk-17-jre-headless)" >&2
  exit 2
fi

if [ ! -f "$cache/.complete" ]; then
  if ! command -v mvn >/dev/null 2>&1; then
    echo "$name: mvn is not installed (apt-get install maven)" >&2
    exit 2
  fi
  mkdir -p "$cache"
  dependencies=""
  for coordinates in "$@"; do
    IFS=: read -r group artifact version <<<"$coordinates"
    dependencies="$dependencies<dependency><groupId>$group</groupId><artifactId>$artifact</artifactId><version>$version</version></dependency>"
  done
  # A throwaway pom whose only dependencies are the requested artifacts; copy-dependencies puts them
  # and everything they need at run time into lib/.
  cat > "$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tidemq.test</groupId>
  <artifactId>$name-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>$dependencies</dependencies>
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
  echo "$name: no jars in $lib; delete $cache and retry" >&2
  exit 1
fi
printf '%s\n' "$classpath"
