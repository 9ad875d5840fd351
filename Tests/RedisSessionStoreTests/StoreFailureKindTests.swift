import SessionManager
import SessionStoreNIO
import SessionTesting
import Testing

/// Which store failures say a node is gone (and move sessions away from it) and which are one
/// refused command.
@Suite(.capturedLog) struct StoreFailureKindTests {
    @Test(arguments: [
        (StoreClientError.Code.timeout, StoreFailureKind.unreachable), (.connectionClosed, .unreachable), (.nodeDown, .unreachable),
        (.connectFailed, .unreachable), (.protocolError, .unreachable), (.shutDown, .unreachable),
        (.serverError, .refused), (.valueTooLarge, .refused), (.invalidKey, .refused), (.authenticationFailed, .refused),
    ])
    func clientErrorsSayWhatFailed(code: StoreClientError.Code, kind: StoreFailureKind) {
        #expect(StoreClientError(code, "x").failureKind == kind)
    }

    @Test func managerErrorsAboutTheStoreAreUnreachableTheOthersRefused() {
        #expect(SessionManagerError(.storeUnavailable, "x").failureKind == .unreachable)
        #expect(SessionManagerError(.storeUnavailable, "y").failureKind == .unreachable)
        #expect(SessionManagerError(.sessionTooLarge, "x").failureKind == .refused)
        #expect(SessionManagerError(.invalidConfiguration, "x").failureKind == .refused)
    }
}
