# The sample server, for docker-compose.yml: built in release with the official Swift image, and
# run on the same image (its Swift runtime libraries) with hiredis, which the Redis store links.
FROM swift:6.2-noble AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends pkg-config libhiredis-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole package (the manifest names the test and benchmark targets too).
COPY . .
RUN swift build -c release --product SessionSample
# The executable and its resource bundle (the sample's static files), side by side.
RUN mkdir -p /out && bin="$(swift build -c release --show-bin-path)" \
    && cp "$bin/SessionSample" /out/ && cp -r "$bin"/*.resources /out/

FROM swift:6.2-noble
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libhiredis-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/ /app/
COPY Samples/cluster /app/cluster
ENTRYPOINT ["/app/SessionSample"]
