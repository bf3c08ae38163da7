# frozen_string_literal: true

# localcluster's Ruby test algorithm: every kind of input and output, errors, prints, the API with
# each call's key, and a nested call. Tests call it with {"op": ...}.
require "csv"
require_relative "cluster_client"

LOADS = []

# Raised with its own error_type, as algorithms do to tell callers what went wrong.
class UnsupportedError < StandardError
  def error_type
    "UnsupportedError"
  end
end

def load
  puts "loading (never shown to a caller)"
  LOADS << Process.pid
  # Made once per worker, as the docs recommend: each later call has a new key.
  { "client" => Algorithmia.client, "calls" => 0 }
end

def fail_deep(message)
  raise ArgumentError, message
end

def apply(input, state)
  state["calls"] += 1
  return input.reverse if input.is_a?(String) && input.encoding == Encoding::BINARY
  return "hello #{input}" if input.is_a?(String)
  return input unless input.is_a?(Hash)

  case input["op"]
  when "info"
    sleep(input.fetch("sleep", 0))
    { "pid" => Process.pid, "loads" => LOADS.size, "calls" => state["calls"], "ruby" => RUBY_VERSION,
      "encoding" => Encoding.default_external.to_s }
  when "print"
    puts input["text"]
    $stdout.print("through $stdout\n")
    STDOUT.write("through STDOUT\n")
    system("echo", "from a child process")
    warn "to the worker log"
    "printed"
  when "fail" then fail_deep(input["message"])
  when "unsupported" then raise UnsupportedError, input["message"]
  when "bytes" then (0..255).to_a.pack("C*")
  when "csv" then CSV.parse(input["text"])
  when "read" then Algorithmia.client(ENV["ALGORITHMIA_API_KEY"]).file(input["uri"]).get
  when "read_with_loaded_client" then state["client"].file(input["uri"]).get
  when "nested" then state["client"].algo(input["algo"]).pipe(input["input"]).result
  when "remember_key"
    state["first_key"] = ENV["ALGORITHMIA_API_KEY"]
    "remembered"
  when "first_key_now"
    # What the key of the call that ran remember_key is worth now (the key itself never leaves).
    request = Net::HTTP::Get.new(URI.join(ENV["ALGORITHMIA_API"], "/v1/data/#{input['uri'].delete_prefix('data://')}"))
    request["Authorization"] = "Simple #{state['first_key']}"
    uri = request.uri
    status = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") { |http| http.request(request) }.code
    { "same_key" => state["first_key"] == ENV["ALGORITHMIA_API_KEY"], "status" => status.to_i }
  else input
  end
end
