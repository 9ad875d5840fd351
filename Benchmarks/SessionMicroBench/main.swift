// Micro-benchmark of the session layer without HTTP: the per-request cost of what /myapp/count
// and /myapp/read do to their session, in nanoseconds per request (median of 5 rounds).
//   swift run -c release SessionMicroBench        (ITERATIONS=n per round, default 200000)
// "resident" rows: the memory store's default, the session stays in memory between requests.
// "residency off" rows: every request loads the session from the store (decode) and writes a
// change back (encode), as with a shared store but without the network.
// "shared" rows: another request holds the session, so it is not loaded from the store again.
import Foundation
import Logging
import SessionManager

let residentManager = SessionManager(configuration: .init(), store: MemorySessionStore(), jvmRoute: "node1", logger: Logger(label: "bench"))
let loadingManager: SessionManager = {
    var configuration = ManagerConfiguration()
    configuration.residentSessionLimit = 0
    return SessionManager(configuration: configuration, store: MemorySessionStore(), jvmRoute: "node1", logger: Logger(label: "bench"))
}()

nonisolated func measure(_ name: String, iterations: Int = Int(ProcessInfo.processInfo.environment["ITERATIONS"] ?? "") ?? 200_000, _ body: () async throws -> Void) async rethrows {
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try await body() }
        let elapsed = ContinuousClock.now - start
        rounds.append(Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9)
    }
    let median = rounds.sorted()[2] / Double(iterations)
    print("\(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%8.0f", median)) ns/request")
}

/// Everything runs in this nonisolated function: closures written in top-level code would be
/// main-actor isolated, and calling them would hop threads on every iteration.
/// What `/myapp/read` and `/myapp/count` do to their session, as one request each.
nonisolated func read(_ manager: SessionManager, _ id: SessionID) async throws {
    let sessions = manager.beginRequest(path: "/myapp/read", requestedID: SessionID(parsing: id.description))
    _ = try await sessions.existingSession()?.get("count", as: Int.self)
    _ = await sessions.finish()
}

nonisolated func count(_ manager: SessionManager, _ id: SessionID) async throws {
    let sessions = manager.beginRequest(path: "/myapp/count", requestedID: SessionID(parsing: id.description))
    try await sessions.session().update("count", default: 0) { (n: inout Int) in n += 1 }
    _ = await sessions.finish()
}

/// A new session of `manager`, saved.
nonisolated func makeSession(_ manager: SessionManager) async throws -> SessionID {
    let setup = manager.beginRequest(path: "/myapp/count", requestedID: nil)
    let id = try await setup.session().id
    _ = await setup.finish()
    return id
}

/// Everything runs in this nonisolated function: closures written in top-level code would be
/// main-actor isolated, and calling them would hop threads on every iteration.
nonisolated func runAll() async throws {
    let id = try await makeSession(residentManager)
    await measure("no session (plain)") {
        let sessions = residentManager.beginRequest(path: "/myapp/plain", requestedID: SessionID(parsing: id.description))
        _ = await sessions.finish()
    }
    try await measure("read (resident)") { try await read(residentManager, id) }
    try await measure("count (resident)") { try await count(residentManager, id) }

    let loadedID = try await makeSession(loadingManager)
    try await measure("read (residency off)") { try await read(loadingManager, loadedID) }
    try await measure("count (residency off)") { try await count(loadingManager, loadedID) }
    // Another request holds the session, so these find it in memory instead of loading it.
    let holder = loadingManager.beginRequest(path: "/myapp/read", requestedID: loadedID)
    _ = try await holder.existingSession()
    try await measure("read (shared)") { try await read(loadingManager, loadedID) }
    try await measure("count (shared)") { try await count(loadingManager, loadedID) }
    _ = await holder.finish()

    let cookie = "JSESSIONID=\(id)"
    let transcoder = BinarySessionTranscoder()
    let snapshot = SessionSnapshot(id: id.description, creationTime: Date(), lastAccessedTime: Date(), maxInactiveInterval: 1800, attributes: ["count": 42])
    let blob = try transcoder.encode(snapshot)
    try await measure("binary encode (1 attribute)") { _ = try transcoder.encode(snapshot) }
    try await measure("binary decode (1 attribute)") { _ = try transcoder.decode(blob) }
    await measure("cookie id parse") { _ = SessionID(parsing: id.description) }
    print("cookie: \(cookie.count) bytes")
}

try await runAll()
