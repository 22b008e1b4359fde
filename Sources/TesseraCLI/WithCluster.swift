import Client
import CommandSupport

/// Runs `body` with a client of the cluster the endpoint options name, closes
/// it, and turns a client error into the command's exit status and message.
func withCluster<T: Sendable>(_ endpoint: EndpointOptions, write: Bool = false, _ body: (TesseraClient) async throws -> T) async throws -> T {
    let (endpoints, isDefault) = endpoint.resolved
    let client = try await ClusterConnection.connect(endpoints: endpoints, isDefault: isDefault, options: try endpoint.clientOptions())
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw ClusterConnection.failure(error, write: write)
    }
}
