// The types the client's public API speaks, so that `import TesseraClient`
// (module `Client`) is enough to use it.
@_exported import struct Keyspace.CellID
@_exported import struct Keyspace.Key
@_exported import struct Wire.ClusterInfo
@_exported import struct Wire.NodeStatus
@_exported import enum Storage.WriteCondition
@_exported import enum Wire.ReadConsistency
@_exported import struct Credentials.TLSCredentialFiles
@_exported import struct Credentials.TLSCredentials
@_exported import struct Credentials.CredentialError
@_exported import enum Credentials.PeerIdentity
@_exported import struct Credentials.AccessKey
@_exported import struct Credentials.AccessKeyRecord
@_exported import struct Credentials.AccountGrants
@_exported import struct Credentials.Permissions
