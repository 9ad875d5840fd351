import Foundation

/// Debian's `chromium`, headless, driven through `chromedriver` (W3C WebDriver over HTTP on a
/// free loopback port): enough to open a page, read and click elements, and take a screenshot.
public final class HeadlessChromium: Sendable {
    /// What the browser said when a command failed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let driver: Process
    private let port: Int
    private let session: String
    private let profile: URL

    /// Whether `chromium` and `chromedriver` are installed (`Scripts/install-dependencies.sh test`).
    public static var isInstalled: Bool { ChildProcess.find("chromedriver") != nil && ChildProcess.find("chromium") != nil }

    private init(driver: Process, port: Int, session: String, profile: URL) {
        self.driver = driver
        self.port = port
        self.session = session
        self.profile = profile
    }

    /// Starts `chromedriver` and a headless browser; `body` drives it; both end afterwards.
    public static func with<R>(_ body: (HeadlessChromium) async throws -> R) async throws -> R {
        guard let driverPath = ChildProcess.find("chromedriver"), let chromium = ChildProcess.find("chromium") else {
            throw Failure(description: "chromium and chromium-driver are not installed: run Scripts/install-dependencies.sh test")
        }
        let port = try FreePort.make()
        let driver = Process()
        driver.executableURL = URL(fileURLWithPath: driverPath)
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        do {
            let deadline = ContinuousClock.now + .seconds(10)
            while (try? await call(port: port, "GET", "/status")) == nil {
                guard ContinuousClock.now < deadline else { throw Failure(description: "chromedriver did not answer") }
                try await Task.sleep(for: .milliseconds(50))
            }
            let options: [String: Any] = [
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,700", "--user-data-dir=\(profile.path)"],
            ]
            let created = try await call(port: port, "POST", "/session", ["capabilities": ["alwaysMatch": ["goog:chromeOptions": options]]])
            guard let value = created["value"] as? [String: Any], let session = value["sessionId"] as? String else {
                throw Failure(description: "no WebDriver session: \(created)")
            }
            let browser = HeadlessChromium(driver: driver, port: port, session: session, profile: profile)
            do {
                let result = try await body(browser)
                await browser.quit()
                return result
            } catch {
                await browser.quit()
                throw error
            }
        } catch {
            driver.terminate()
            throw error
        }
    }

    /// Opens `url` and waits for the page to load.
    public func open(_ url: String) async throws {
        _ = try await command("POST", "/url", ["url": url])
    }

    /// The elements matching a CSS selector (their WebDriver ids).
    public func elements(_ selector: String) async throws -> [String] {
        let found = try await command("POST", "/elements", ["using": "css selector", "value": selector])
        return (found["value"] as? [[String: Any]] ?? []).compactMap { $0.values.first as? String }
    }

    /// The visible text of an element.
    public func text(_ element: String) async throws -> String {
        try await command("GET", "/element/\(element)/text")["value"] as? String ?? ""
    }

    /// Clicks an element (and waits for a navigation it starts).
    public func click(_ element: String) async throws {
        _ = try await command("POST", "/element/\(element)/click", [:])
    }

    /// A PNG of the viewport.
    public func screenshot() async throws -> Data {
        guard let base64 = try await command("GET", "/screenshot")["value"] as? String, let png = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot")
        }
        return png
    }

    private func quit() async {
        _ = try? await command("DELETE", "")
        driver.terminate()
        try? FileManager.default.removeItem(at: profile)
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let reply = try await Self.call(port: port, method, "/session/\(session)" + path, body)
        if let value = reply["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(method) \(path): \(error): \(value["message"] as? String ?? "")")
        }
        return reply
    }

    private static func call(port: Int, _ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let response = try await RawHTTPClient.withConnection(port: port) { client in
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
            if body != nil { head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n" }
            try await client.send(bytes: Array((head + "\r\n").utf8) + Array(payload))
            return try await client.readResponse()
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(response.bodyBytes)) as? [String: Any] else {
            throw Failure(description: "\(method) \(path): not JSON: \(response.body.prefix(200))")
        }
        return object
    }
}
