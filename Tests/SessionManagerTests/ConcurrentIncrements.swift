import SessionManager

/// Runs `clients` concurrent loops of `requestsEach` requests on session `id`, each incrementing
/// its `count` attribute through ``Session/update(_:default:_:)`` — the load under which a lost
/// update shows as a final count below the number of requests.
func incrementConcurrently(_ manager: SessionManager, _ id: SessionID, clients: Int, requestsEach: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<clients {
            group.addTask {
                for _ in 0..<requestsEach {
                    let sessions = manager.beginRequest(path: "/app/x", requestedID: id)
                    try await sessions.session().update("count", default: 0) { (n: inout Int) in n += 1 }
                    _ = await sessions.finish()
                }
            }
        }
        try await group.waitForAll()
    }
}
