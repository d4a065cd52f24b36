// The GGUF container: values (metadata types and the byte-exact string codec), the header reader,
// and the writer with gguf.cpp's KV-edit semantics.
export * from "./values.js";
export * from "./read.js";
export * from "./write.js";
