#if VaporSupport
import Foundation
import SessionManager
import SessionTesting
import Testing

/// The Vapor middleware against real stores, held to the adapters' ``AdapterContract``: the app
/// served live in this process, and the `VaporSample` executable as several processes.
@Suite(.capturedLog, .serialized) struct VaporMiddlewareTests {
    static let kinds = AdapterContract.kinds
    static var storesRunnable: Bool { AdapterContract.storesRunnable }
    static var redisRunnable: Bool { StoreServerProcess.Kind.redis().isRunnable }
    static let contract = AdapterContract(executable: "VaporSample") { jvmRoute, configure, body in
        try await VaporTestApp.with(jvmRoute: jvmRoute, configure: configure, body)
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(kind: StoreServerProcess.Kind) async throws {
        try await Self.contract.aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(kind)
    }

    @Test func sixteenClientsIncrementExactlyStickyOnTheMemoryStore() async throws {
        try await Self.contract.sixteenClientsIncrementExactlyStickyOnTheMemoryStore()
    }

    @Test(.enabled(if: redisRunnable), arguments: [false, true])
    func sixteenClientsIncrementExactlyNonStickyOnRedis(locking: Bool) async throws {
        try await Self.contract.sixteenClientsIncrementExactlyNonStickyOnRedis(locking: locking)
    }

    @Test(.enabled(if: redisRunnable))
    func anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing() async throws {
        try await Self.contract.anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing()
    }

    @Test(.enabled(if: redisRunnable))
    func aKilledStoreNodeMovesTheSessionWithANewCookie() async throws {
        try await Self.contract.aKilledStoreNodeMovesTheSessionWithANewCookie()
    }

    @Test(.enabled(if: redisRunnable))
    func aStoreOutageAnswers503NonStickyAndServesFromMemorySticky() async throws {
        try await Self.contract.aStoreOutageAnswers503NonStickyAndServesFromMemorySticky()
    }

    /// A handler's error goes to Vapor's `ErrorMiddleware` as it is, unless the request created
    /// its session: then it is answered here, as `ErrorMiddleware` would, with the cookie.
    @Test func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated() async throws {
        try await VaporTestApp.with { port, _ in
            let bad = try await AdapterContract.get(port, "/myapp/errors/created-then-abort")
            #expect(bad.status == 400, "the handler's Abort answers")
            #expect(bad.body.contains("\"reason\":\"bad\""), "as Vapor's ErrorMiddleware: \(bad.body)")
            #expect(bad.cookiePair != nil, "with the cookie of the session it created")
            let conflict = try await AdapterContract.get(port, "/myapp/errors/abort")
            #expect(conflict.status == 409)
            #expect(conflict.cookiePair == nil)
            let failed = try await AdapterContract.get(port, "/myapp/errors/created-then-failure")
            #expect(failed.status == 500)
            #expect(failed.cookiePair != nil)
            let unavailable = try await AdapterContract.get(port, "/myapp/errors/unavailable")
            #expect(unavailable.status == 503)
            #expect(unavailable.value("Retry-After") == "5")
            #expect(unavailable.body == "service unavailable: session store unavailable; retry later\n")
            #expect(try await AdapterContract.get(port, "/no-middleware").status == 500, "a route without the middleware has no session")
        }
    }

    @Test func theSampleConfigurationFileConfiguresTheMiddleware() async throws {
        try await Self.contract.theSampleConfigurationFileConfiguresTheMiddleware(route: "vapor1")
    }

    @Test func aBadConfigurationFileIsRefusedWithItsPosition() async throws {
        try await Self.contract.aBadConfigurationFileIsRefusedWithItsPosition()
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func twoProcessesWithRoutesTakeASessionOverAndBack(kind: StoreServerProcess.Kind) async throws {
        try await Self.contract.twoProcessesWithRoutesTakeASessionOverAndBack(kind)
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds, [false, true])
    func aVaporNodeAndABundledServerNodeShareASession(kind: StoreServerProcess.Kind, sticky: Bool) async throws {
        try await Self.contract.anAdapterNodeAndABundledServerNodeShareASession(kind, sticky: sticky)
    }

    @Test(.enabled(if: redisRunnable))
    func aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount() async throws {
        try await Self.contract.aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount()
    }

    @Test(.enabled(if: storesRunnable), arguments: kinds)
    func lockingAllLosesNoIncrementAcrossTwoProcesses(kind: StoreServerProcess.Kind) async throws {
        try await Self.contract.lockingAllLosesNoIncrementAcrossTwoProcesses(kind)
    }
}
#endif
