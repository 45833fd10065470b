/** Default limits shared by the protocol, the store and the broker. Names carry their units. */
export const Limits = {
  /** Largest remoting frame accepted (RocketMQ's own limit). */
  maxFrameBytes: 16 * 1024 * 1024,
  /** Largest message body (`maxMessageSize`). */
  maxMessageSizeBytes: 4 * 1024 * 1024,
  /** Largest encoded properties string (an int16 length in the record). */
  maxPropertiesBytes: 32_767,
} as const;
