import SessionTesting
import Testing

/// Every check of ``AdapterContract`` for every framework adapter of the build (the Hummingbird
/// and Vapor middlewares, each with its trait on): one list, held to alike.
@Suite(.capturedLog, .serialized) struct AdapterContractTests {
    static let adapters: [AdapterContract] = {
        var adapters: [AdapterContract] = []
        #if HummingbirdSupport
        adapters.append(HummingbirdTestApp.contract)
        #endif
        #if VaporSupport
        adapters.append(VaporTestApp.contract)
        #endif
        return adapters
    }()
    static let kinds = AdapterContract.kinds
    static var storesRunnable: Bool { AdapterContract.storesRunnable }
    static var redisRunnable: Bool { StoreServerProcess.Kind.redis().isRunnable }

    @Test(.enabled(if: storesRunnable), arguments: adapters, kinds)
    func aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(adapter: AdapterContract, kind: StoreServerProcess.Kind) async throws {
        try await adapter.aReadCostsOneStoreCommandNonStickyNoneStickyAndAnUnaskedSessionNone(kind)
    }

    @Test(arguments: adapters)
    func sixteenClientsIncrementExactlyStickyOnTheMemoryStore(adapter: AdapterContract) async throws {
        try await adapter.sixteenClientsIncrementExactlyStickyOnTheMemoryStore()
    }

    @Test(.enabled(if: redisRunnable), arguments: adapters, [false, true])
    func sixteenClientsIncrementExactlyNonStickyOnRedis(adapter: AdapterContract, locking: Bool) async throws {
        try await adapter.sixteenClientsIncrementExactlyNonStickyOnRedis(locking: locking)
    }

    @Test(.enabled(if: redisRunnable), arguments: adapters)
    func anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing(adapter: AdapterContract) async throws {
        try await adapter.anUnknownIdIsNeverAdoptedAndTheIgnorePatternCreatesAndSavesNothing()
    }

    @Test(.enabled(if: redisRunnable), arguments: adapters)
    func aKilledStoreNodeMovesTheSessionWithANewCookie(adapter: AdapterContract) async throws {
        try await adapter.aKilledStoreNodeMovesTheSessionWithANewCookie()
    }

    @Test(.enabled(if: redisRunnable), arguments: adapters)
    func aStoreOutageAnswers503NonStickyAndServesFromMemorySticky(adapter: AdapterContract) async throws {
        try await adapter.aStoreOutageAnswers503NonStickyAndServesFromMemorySticky()
    }

    @Test(arguments: adapters)
    func handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated(adapter: AdapterContract) async throws {
        try await adapter.handlerErrorsAreAnsweredWithTheCookieOfASessionTheyCreated()
    }

    @Test(arguments: adapters)
    func theSampleConfigurationFileConfiguresTheMiddleware(adapter: AdapterContract) async throws {
        try await adapter.theSampleConfigurationFileConfiguresTheMiddleware()
    }

    @Test(arguments: adapters)
    func aBadConfigurationFileIsRefusedWithItsPosition(adapter: AdapterContract) async throws {
        try await adapter.aBadConfigurationFileIsRefusedWithItsPosition()
    }

    @Test(.enabled(if: storesRunnable), arguments: adapters, kinds)
    func twoProcessesWithRoutesTakeASessionOverAndBack(adapter: AdapterContract, kind: StoreServerProcess.Kind) async throws {
        try await adapter.twoProcessesWithRoutesTakeASessionOverAndBack(kind)
    }

    /// One cluster, two HTTP layers: a session created on the adapter's node counts on across a
    /// bundled-server node and back (1…6 exact), sticky and not, on Redis and memcached.
    @Test(.enabled(if: storesRunnable), arguments: adapters, [(StoreServerProcess.Kind.redis(), false), (.redis(), true), (.memcached(), false), (.memcached(), true)])
    func anAdapterNodeAndABundledServerNodeShareASession(adapter: AdapterContract, store: (kind: StoreServerProcess.Kind, sticky: Bool)) async throws {
        try await adapter.anAdapterNodeAndABundledServerNodeShareASession(store.kind, sticky: store.sticky)
    }

    @Test(.enabled(if: redisRunnable), arguments: adapters)
    func aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount(adapter: AdapterContract) async throws {
        try await adapter.aStickyNodeStopsCleanlyAndItsSuccessorContinuesTheCount()
    }

    @Test(.enabled(if: storesRunnable), arguments: adapters, kinds)
    func lockingAllLosesNoIncrementAcrossTwoProcesses(adapter: AdapterContract, kind: StoreServerProcess.Kind) async throws {
        try await adapter.lockingAllLosesNoIncrementAcrossTwoProcesses(kind)
    }

    @Test(.enabled(if: LocalCluster.isRunnable(tools: ["nginx", "redis-server"])), arguments: adapters)
    func theSessionSurvivesAStoreNodeAndAnAppNodeDying(adapter: AdapterContract) async throws {
        try await adapter.theSessionSurvivesAStoreNodeAndAnAppNodeDying()
    }
}
