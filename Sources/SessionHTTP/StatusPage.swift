import SessionManager

/// The HTML of the ``StatusApp`` page: plain markup, no script, a refresh every 2 s.
struct StatusPage {
    /// One context as the page shows it.
    struct Context {
        let path: String
        let nodes: [Node]
        let sessionsInMemory: Int
        let relocations: Int
        let takeovers: Int
        let lockFailures: Int
        let rejectedSessions: Int
    }

    /// One store node over the page's interval.
    struct Node {
        let id: String
        let isUp: Bool
        /// `nil` on the first view (no interval yet).
        let operationsPerSecond: Double?
        let p50: Duration?
        let p99: Duration?
        let failedOperations: Int
        let transitions: Int

        init(_ node: SessionManager.NodeState, since earlier: SessionManager.NodeState?, seconds: Double?) {
            id = node.id
            isUp = node.isUp
            if let earlier, let seconds, seconds > 0 {
                operationsPerSecond = Double(node.operations - earlier.operations) / seconds
            } else {
                operationsPerSecond = nil
            }
            p50 = node.latency.quantile(0.5, since: earlier?.latency)
            p99 = node.latency.quantile(0.99, since: earlier?.latency)
            failedOperations = node.failedOperations - (earlier?.failedOperations ?? 0)
            transitions = node.transitionCount
        }
    }

    let contexts: [Context]
    let metricsPath: String

    var html: String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
            <title>Session manager status</title>
            <style>
            body{font:15px/1.4 system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;margin:.5em 0 1.5em}
            th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}
            th:first-child,td:first-child{text-align:left}
            .up{color:#070;font-weight:600}.down{color:#b00;font-weight:600}
            .facts span{margin-right:1.5em}
            </style></head><body>
            <h1>Session manager status</h1>
            <p>Store nodes over the last interval; refreshed every 2 s. Prometheus metrics: <a href="\(Self.escape(metricsPath))">\(Self.escape(metricsPath))</a></p>

            """
        for context in contexts {
            html += "<h2>Context <code>\(Self.escape(context.path))</code></h2>\n"
            html += "<p class=\"facts\"><span>sessions in memory: <b>\(context.sessionsInMemory)</b></span>"
            html += "<span>relocations: <b>\(context.relocations)</b></span><span>takeovers: <b>\(context.takeovers)</b></span>"
            html += "<span>lock failures: <b>\(context.lockFailures)</b></span><span>rejected sessions: <b>\(context.rejectedSessions)</b></span></p>\n"
            html += "<table><tr><th>node</th><th>state</th><th>ops/s</th><th>p50</th><th>p99</th><th>failed ops</th><th>up/down changes</th></tr>\n"
            for node in context.nodes {
                let state = node.isUp ? "<td class=\"up\">up</td>" : "<td class=\"down\">down</td>"
                html += "<tr><td>\(Self.escape(node.id))</td>\(state)<td>\(node.operationsPerSecond.map { Self.format($0) } ?? "–")</td>"
                html += "<td>\(Self.format(node.p50))</td><td>\(Self.format(node.p99))</td><td>\(node.failedOperations)</td><td>\(node.transitions)</td></tr>\n"
            }
            html += "</table>\n"
        }
        html += "</body></html>\n"
        return html
    }

    static func format(_ rate: Double) -> String {
        rate >= 100 ? String(Int(rate.rounded())) : String(Double(Int((rate * 10).rounded())) / 10)
    }

    static func format(_ duration: Duration?) -> String {
        guard let duration else { return "–" }
        let micros = StatusBoard.seconds(duration) * 1e6
        if micros < 1000 { return "\(Int(micros.rounded())) µs" }
        return "\(Double(Int((micros / 100).rounded())) / 10) ms"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
