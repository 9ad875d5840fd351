import CoreMetrics
import Foundation
import Logging
import Prometheus
import SessionConfigXML
import SessionHTTP
import SessionManager
import SessionSampleApp
import SessionStores
import SessionTesting
import Testing

/// The built-in `metrics` app on a live sample with two real Redis nodes: the Prometheus counters
/// move under load, the HTML page names each node with its state, and a killed node shows down.
@Suite(.capturedLog) struct StatusAppTests {
    /// Runs the sample (`/myapp` on `nodes`, `/status`) with a Prometheus registry of its own
    /// (task-local, so tests in parallel do not share counters).
    static func withSample<R: Sendable>(
        nodes: String,
        _ body: @escaping @Sendable (Int) async throws -> R
    ) async throws -> R {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        configuration.contexts[0].manager.memcachedNodes = try StoreNode.parseList(nodes)
        configuration.contexts[0].manager.sticky = false
        let registry = PrometheusCollectorRegistry()
        var logger = Logger(label: "status-test")
        logger.logLevel = .warning
        let server = try withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try SampleServer.makeServer(configuration: configuration, metricsExposition: { registry.emitToBuffer() }, logger: logger)
        }
        return try await LiveServer.with(server) { port in try await body(port) }
    }

    /// The value of one sample line (`name{labels} value`) of a Prometheus text.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func prometheusCountersMoveUnderLoadAndThePageShowsEachNode() async throws {
        try await StoreServerProcess.with(.redis()) { first in
            try await StoreServerProcess.with(.redis()) { second in
                try await Self.withSample(nodes: "n1:redis://\(first.address),n2:redis://\(second.address)") { port in
                    let before = try await RawHTTPClient.get(port: port, "/status/metrics")
                    #expect(before.status == 200)
                    #expect(before.value("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
                    // 40 sessions, each incremented 5 times.
                    var cookies: [String] = []
                    for _ in 0..<40 {
                        let response = try await RawHTTPClient.get(port: port, "/myapp/count")
                        cookies.append(try #require(response.cookiePair))
                    }
                    for _ in 0..<4 { for cookie in cookies { _ = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]) } }
                    let after = try await RawHTTPClient.get(port: port, "/status/metrics").body
                    let context = "context=\"/myapp\""
                    #expect(Self.value(after, "sm_sessions_total{\(context),event=\"created\"}") == 40)
                    #expect(Self.value(after, "sm_sessions_total{\(context),event=\"loaded\"}") == 160)
                    #expect(Self.value(after, "sm_sessions_total{\(context),event=\"written\"}") == 200)
                    #expect(Self.value(after, "sm_requests_total{\(context),session=\"yes\"}") == 200)
                    var operations = 0.0
                    for node in ["n1", "n2"] {
                        let series = "sm_store_operations_total{\(context),node=\"\(node)\",outcome=\"ok\"}"
                        let moved = (Self.value(after, series) ?? 0) - (Self.value(before.body, series) ?? 0)
                        #expect(moved > 0, "\(series) did not move")
                        operations += moved
                        // Every session write also writes a backup on the other node.
                        #expect((Self.value(after, "sm_backup_writes_total{\(context),node=\"\(node)\",outcome=\"ok\"}") ?? 0) > 0)
                        #expect(Self.value(after, "sm_node_up{\(context),node=\"\(node)\"}") == 1)
                    }
                    // 160 reads + 200 writes + 200 backup writes (+ touches): at least 560.
                    #expect(operations >= 560)
                    #expect((Self.value(after, "sm_store_operation_seconds_count{\(context),node=\"n1\"}") ?? 0) > 0)
                    #expect(after.contains("sm_session_size_bytes_count{\(context)}"))

                    // The page: both contexts, both nodes up, with rates after a second view.
                    _ = try await RawHTTPClient.get(port: port, "/status/")
                    try await Task.sleep(for: .milliseconds(1100))
                    for cookie in cookies { _ = try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", cookie)]) }
                    let page = try await RawHTTPClient.get(port: port, "/status/")
                    #expect(page.status == 200)
                    #expect(page.value("Content-Type") == "text/html; charset=utf-8")
                    #expect(page.body.contains("<meta http-equiv=\"refresh\" content=\"2\">"))
                    #expect(page.body.contains("Context <code>/myapp</code>"))
                    #expect(page.body.contains("Context <code>/status</code>"))
                    #expect(page.body.contains("<tr><td>n1</td><td class=\"up\">up</td>"))
                    #expect(page.body.contains("<tr><td>n2</td><td class=\"up\">up</td>"))
                    #expect(page.body.contains(" µs</td>") || page.body.contains(" ms</td>"), "no latency shown")
                    #expect(page.body.contains("<a href=\"/status/metrics\">"))

                    // n2 killed: requests of its sessions find it down; the page and the gauge say so.
                    second.kill()
                    for cookie in cookies { _ = try await RawHTTPClient.get(port: port, "/myapp/count", headers: [("Cookie", cookie)]) }
                    let down = try await RawHTTPClient.get(port: port, "/status/").body
                    #expect(down.contains("<tr><td>n2</td><td class=\"down\">down</td>"))
                    let metrics = try await RawHTTPClient.get(port: port, "/status/metrics").body
                    #expect(Self.value(metrics, "sm_node_up{\(context),node=\"n2\"}") == 0)
                    #expect(Self.value(metrics, "sm_node_transitions_total{\(context),node=\"n2\",to=\"down\"}") == 1)
                    #expect((Self.value(metrics, "sm_sessions_total{\(context),event=\"relocated\"}") ?? 0) > 0)
                }
            }
        }
    }

    @Test func withoutABackendMetricsIsNotFoundAndOtherPathsTooAndOnlyGetIsServed() async throws {
        let server = try SampleServer.makeServer(configuration: try SampleServer.defaultConfiguration(port: 0), logger: Logger(label: "status-test"))
        try await LiveServer.with(server) { port in
            #expect(try await RawHTTPClient.get(port: port, "/status/metrics").status == 404)
            #expect(try await RawHTTPClient.get(port: port, "/status/nothing").status == 404)
            #expect(try await RawHTTPClient.get(port: port, "/status").status == 200)
            let post = try await RawHTTPClient.withConnection(port: port) { client in
                try await client.send("POST /status/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                return try await client.readResponse()
            }
            #expect(post.status == 405)
        }
    }

    @Test func enableStatisticsFalseMakesTheContextsMetricsNoOps() async throws {
        var configuration = try SampleServer.defaultConfiguration(port: 0)
        configuration.contexts[0].manager.enableStatistics = false
        let registry = PrometheusCollectorRegistry()
        let server = try withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try SampleServer.makeServer(configuration: configuration, metricsExposition: { registry.emitToBuffer() }, logger: Logger(label: "status-test"))
        }
        try await LiveServer.with(server) { port in
            _ = try await RawHTTPClient.get(port: port, "/myapp/count")
            let text = try await RawHTTPClient.get(port: port, "/status/metrics").body
            #expect(!text.contains("context=\"/myapp\""))
            #expect(text.contains("context=\"/status\""))
        }
    }

    @Test func aRepeatedUnknownIDCostsOneStoreReadWithinTheCacheLifetime() async throws {
        try await StoreServerProcess.with(.redis()) { redis in
            try await Self.withSample(nodes: "redis://\(redis.address)") { port in
                let forged = "JSESSIONID=" + String(repeating: "C3", count: 16)
                let series = "sm_store_operations_total{context=\"/myapp\",node=\"store\",outcome=\"ok\"}"
                let before = Self.value(try await RawHTTPClient.get(port: port, "/status/metrics").body, series) ?? 0
                for _ in 0..<20 {
                    let response = try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", forged)])
                    #expect(response.status == 200)
                    #expect(response.value("Set-Cookie") == nil)
                }
                let text = try await RawHTTPClient.get(port: port, "/status/metrics").body
                // One read asked the store, the others found the id in the cache while it was
                // younger than 500 ms (20 requests take a few ms; a loaded machine may need a few
                // more reads, never one per request).
                let reads = (Self.value(text, series) ?? 0) - before
                #expect(reads >= 1 && reads <= 10)
                #expect(Self.value(text, "sm_sessions_total{context=\"/myapp\",event=\"unknown\"}") == reads)
                #expect(Self.value(text, "sm_sessions_total{context=\"/myapp\",event=\"unknown_cached\"}") == 20 - reads)
                // After the lifetime (500 ms) the store is asked again.
                try await Task.sleep(for: .milliseconds(600))  // the cache keeps an id 500 ms
                _ = try await RawHTTPClient.get(port: port, "/myapp/read", headers: [("Cookie", forged)])
                let later = try await RawHTTPClient.get(port: port, "/status/metrics").body
                #expect(Self.value(later, "sm_sessions_total{context=\"/myapp\",event=\"unknown\"}") == reads + 1)
            }
        }
    }
}
