// The real ssb-server 16 from npm as a child process: shared by the workspaces' tests.
export * from '@scuttlekit/test-support'
