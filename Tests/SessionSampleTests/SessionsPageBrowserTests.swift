import Foundation
import SessionTesting
import Testing

/// The sample's page in a real browser (headless Chromium): a logged-in user sees their sessions
/// on every node, by device and app node, and the button logs the other ones out.
@Suite(.capturedLog, .serialized) struct SessionsPageBrowserTests {
    @Test(.enabled(if: StoreServerProcess.Kind.redis().isRunnable))
    func thePageListsTheSessionsAndTheButtonLogsTheOthersOut() async throws {
        guard HeadlessChromium.isInstalled else {
            Issue.record("chromium is not installed: run Scripts/install-dependencies.sh test")
            return
        }
        try await PrincipalProcessTests.withNodes(.redis, sticky: true) { ports in
            // Two more sessions of alice, from "phones", on the other node.
            var others: [String] = []
            for _ in 0..<2 {
                let first = try await RawHTTPClient.get(port: ports[1], "/myapp/count", headers: [("User-Agent", "curl/8 (phone)")])
                let login = try await RawHTTPClient.get(
                    port: ports[1], "/myapp/login?user=alice",
                    headers: [("Cookie", try #require(first.cookiePair)), ("User-Agent", "curl/8 (phone)")]
                )
                others.append(try #require(login.cookiePair))
            }
            try await HeadlessChromium.with { browser in
                let base = "http://127.0.0.1:\(ports[0])/myapp"
                try await browser.open(base + "/login?user=alice")
                try await browser.open(base + "/")
                let rows = try await browser.elements("#sessions tr.session")
                #expect(rows.count == 3, "the page lists the user's three sessions")
                var texts: [String] = []
                for row in rows { texts.append(try await browser.text(row)) }
                #expect(texts.filter { $0.contains("(this one)") && $0.contains("HeadlessChrome") && $0.contains("node1") }.count == 1, "\(texts)")
                #expect(texts.filter { $0.contains("curl/8 (phone)") && $0.contains("node2") }.count == 2, "\(texts)")
                if let path = ProcessInfo.processInfo.environment["SESSIONS_PAGE_SCREENSHOT"] {
                    try await browser.screenshot().write(to: URL(fileURLWithPath: path))
                }
                let button = try #require(try await browser.elements("#logout-others").first)
                try await browser.click(button)
                let after = try await browser.elements("#sessions tr.session")
                #expect(after.count == 1, "back on the page, only this session is left")
            }
            try await Task.sleep(for: .milliseconds(100))
            for cookie in others {
                let read = try await RawHTTPClient.get(port: ports[1], "/myapp/read", headers: [("Cookie", cookie)])
                #expect(read.fields["user"] == "", "the phone's session is logged out: \(read.body)")
            }
        }
    }
}
