# frozen_string_literal: true

# The worker side of algorithm execution for Ruby algorithms: run by the host's ruby, standard
# library only. It speaks the protocol of localcluster/execution/runner.py (the reference: read
# its docstring for the frames) and behaves as that runner does.
#
#     ruby RUBY_FLAGS runner.rb --main SRC/<Name>.rb --gems GEMS.json            serve calls
#     ruby RUBY_FLAGS runner.rb --main SRC/<Name>.rb --gems GEMS.json --check    load, do not serve
#
# (RUBY_FLAGS: localcluster/builds/languages/ruby.py.)
#
# The algorithm is src/<Name>.rb defining `def apply(input)` (or `apply(input, state)`) at the top
# level, and optionally `def load` (run once per worker, inside the first call; what it returns is
# passed to a two-parameter apply). GEMS.json is what the build resolved from the Gemfile
# (gemfile.rb): each gem is activated at that version before the algorithm is required.
#
# Values, as the official Ruby client treats them:
#     input   text -> a UTF-8 String, json -> what JSON.parse gives, binary -> an ASCII-8BIT String
#     result  an ASCII-8BIT (binary) String -> binary; another String -> text (UTF-8);
#             anything else -> json (JSON.generate)
#     error   the exception's message, its backtrace without this file's frames, error_type
#             "AlgorithmError" (or the exception's own #error_type); "InputError" for bad input
#
# The algorithm never sees the frame pipes: they move to private descriptors, fd 0 becomes
# /dev/null and fd 1 an unlinked capture file emptied before each call, so whatever the call
# prints ($stdout, STDOUT, C extensions, child processes) is its stdout. fd 2 stays the worker log.
#
# Everything here lives in one module: a top-level `def` would become a method of every object,
# and could clash with the algorithm's own.

# TLS first, before anything loads OpenSSL (its default certificate store reads SSL_CERT_FILE once):
# with a TLS cluster the worker is given the cluster's CA as REQUESTS_CA_BUNDLE, and trusts it as
# the Python runner's requests does, in place of any other bundle file.
if (bundle = ENV["REQUESTS_CA_BUNDLE"]) && !bundle.empty?
  ENV["SSL_CERT_FILE"] = bundle
end

require "json"
require "tmpdir"

module LocalclusterRunner
  RUNNER_FILE = File.expand_path(__FILE__)
  # The frames of the loading machinery between this runner and the algorithm's file.
  LOADER_FRAME = %r{/rubygems/core_ext/kernel_require\.rb:|\A<internal:}

  # Not the algorithm's fault: the input could not be decoded.
  class InputError < StandardError; end

  # The main file does not hold what a Ruby algorithm must define.
  class NotAnAlgorithm < StandardError; end

  # -------------------------------------------------------------------------------------------
  # Loading the algorithm

  class Algorithm
    def initialize(main_file, gems_file)
      activate_gems(gems_file)
      src = File.dirname(main_file)
      [File.dirname(src), src].each { |dir| $LOAD_PATH.unshift(dir) unless $LOAD_PATH.include?(dir) }
      require main_file
      main = TOPLEVEL_BINDING.receiver
      unless defines?(:apply)
        raise NotAnAlgorithm, "#{relative(main_file)} does not define a method apply(input) at the top level"
      end
      @apply_method = main.method(:apply)
      @takes_state = check_arity(@apply_method)
      # A top-level `def load` replaces Kernel#load for the algorithm; Kernel's own is not a hook.
      @load_method = defines?(:load) ? main.method(:load) : nil
      @state = nil
    end

    def load
      @state = @load_method.call if @load_method
    end

    def apply(payload)
      # As the Python runner does: the loaded state goes to an apply that takes it.
      return @apply_method.call(payload, @state) if @takes_state && !@state.nil?

      @apply_method.call(payload)
    end

    private

    def defines?(name)
      Object.private_method_defined?(name, false) || Object.method_defined?(name, false)
    end

    def check_arity(method)
      kinds = method.parameters.map(&:first)
      required = kinds.count(:req)
      positional = required + kinds.count(:opt)
      unless required <= 2 && (positional >= 1 || kinds.include?(:rest))
        raise NotAnAlgorithm, "apply must take 1 or 2 parameters (input[, state]), not #{positional}"
      end
      positional >= 2 || kinds.include?(:rest)
    end

    def activate_gems(gems_file)
      return unless gems_file && File.file?(gems_file)

      JSON.parse(File.read(gems_file)).fetch("gems", []).each do |spec|
        gem(spec.fetch("name"), "= #{spec.fetch('version')}")
      end
    end

    def relative(path)
      path.sub(%r{\A#{Regexp.escape(File.dirname(File.dirname(path)))}/}, "")
    end
  end

  # -------------------------------------------------------------------------------------------
  # The per-call API key

  # Each call brings a fresh session key; a warm worker must use the current one.
  #
  # ALGORITHMIA_API_KEY is set per call, which covers clients built inside apply. A client built
  # earlier (in load, or when the file was required) holds a key that has been revoked since: the
  # official gem's Algorithmia::Client#api_key (read on every request) is made to answer with the
  # current call's key whenever it holds one of ours, as the Python runner does for its client. A
  # key the algorithm supplied itself is left alone.
  class CallKeys
    def initialize
      @ours = {}
      @patched = false
    end

    def enter(env)
      key = env["ALGORITHMIA_API_KEY"]
      @ours[key] = true if key.is_a?(String) && !key.empty?
      env.each { |name, value| ENV[name.to_s] = value.nil? ? nil : value.to_s }
      patch_client unless @patched
    end

    private

    def patch_client
      return unless defined?(::Algorithmia::Client) && ::Algorithmia::Client.method_defined?(:api_key)

      ours = @ours
      current_key = Module.new do
        define_method(:api_key) do
          key = super()
          ours.key?(key) ? ENV.fetch("ALGORITHMIA_API_KEY", key) : key
        end
      end
      ::Algorithmia::Client.prepend(current_key)
      @patched = true
    end
  end

  # -------------------------------------------------------------------------------------------
  # Framing: >II (meta length, body length), meta as UTF-8 JSON, body bytes

  class Channel
    def initialize(input, output)
      @input = input
      @output = output
    end

    def receive
      header = read_exact(8)
      return nil if header.nil?

      meta_length, body_length = header.unpack("NN")
      data = read_exact(meta_length + body_length)
      return nil if data.nil?

      meta = JSON.parse(data.byteslice(0, meta_length).force_encoding(Encoding::UTF_8))
      [meta, data.byteslice(meta_length, body_length)]
    end

    def write(meta, body = "".b)
      meta_bytes = JSON.generate(meta).b
      @output.write([meta_bytes.bytesize, body.bytesize].pack("NN"), meta_bytes, body.b)
    end

    private

    def read_exact(count)
      return "".b if count.zero?

      data = @input.read(count)
      data && data.bytesize == count ? data : nil
    end
  end

  # -------------------------------------------------------------------------------------------
  # Values and errors

  module_function

  def decode_input(content_type, body)
    return body.b if content_type == "binary"

    text = body.dup.force_encoding(Encoding::UTF_8)
    raise InputError, "The input is not valid UTF-8 text" unless text.valid_encoding?
    return text unless content_type == "json"

    JSON.parse(text, max_nesting: false)
  end

  def encode_result(value)
    if value.is_a?(String)
      return ["binary", value.b] if value.encoding == Encoding::BINARY

      text = value.encoding == Encoding::UTF_8 ? value : value.encode(Encoding::UTF_8)
      unless text.valid_encoding?
        raise EncodingError, "apply returned a String that is not valid UTF-8: return bytes as a binary " \
                             "String (str.b) to answer with binary output"
      end
      return ["text", text.b]
    end
    ["json", JSON.generate(value).b]
  end

  # A String for the JSON meta: invalid bytes replaced, as the Python runner's errors="replace".
  def utf8(text)
    text = text.to_s
    text = text.encoding == Encoding::BINARY ? text.dup.force_encoding(Encoding::UTF_8) : text
    text = text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace) unless text.encoding == Encoding::UTF_8
    text.scrub
  end

  # The algorithm's backtrace without ours: the frames from this file's first one down are the
  # runner, and the loading machinery just above them (require) is ours too.
  def algorithm_frames(exception)
    frames = exception.backtrace || []
    first_ours = frames.index { |frame| frame.start_with?("#{RUNNER_FILE}:") }
    return frames if first_ours.nil?

    frames = frames[0...first_ours]
    frames = frames[0...-1] while !frames.empty? && frames.last.match?(LOADER_FRAME)
    frames
  end

  # As ruby prints an uncaught exception (causes too), with the algorithm's frames only.
  def format_backtrace(exception)
    lines = []
    seen = {}
    current = exception
    while current && !seen[current.object_id] && seen.size < 10
      seen[current.object_id] = true
      frames = algorithm_frames(current)
      head = frames.first ? "#{utf8(frames.first)}: " : ""
      first, rest = message_of(current).split("\n", 2)
      lines << "#{head}#{first} (#{current.class})"
      lines << rest.chomp if rest && !rest.strip.empty?
      lines.concat(frames.drop(1).map { |frame| "\tfrom #{utf8(frame)}" })
      current = current.cause
    end
    "#{lines.join("\n")}\n"
  end

  def error_meta(exception, default_type)
    { "type" => "error",
      "error" => { "message" => message_of(exception), "stacktrace" => format_backtrace(exception),
                   "error_type" => error_type_of(exception) || default_type } }
  end

  # An exception's own error_type, as algorithms raise them to tell callers what went wrong.
  def error_type_of(exception)
    own = exception.respond_to?(:error_type) ? exception.error_type : nil
    own.is_a?(String) && !own.empty? ? utf8(own) : nil
  rescue StandardError
    nil
  end

  # The message, even of an exception whose #message fails (the algorithm's own class).
  def message_of(exception)
    utf8(exception.message)
  rescue StandardError => e
    "#{exception.class} (its message could not be read: #{e.class})"
  end

  # exit (SystemExit) ends the worker as it would end a process; a signal is not the algorithm's error.
  def fatal?(exception)
    exception.is_a?(SystemExit) || exception.is_a?(SignalException)
  end

  # -------------------------------------------------------------------------------------------
  # Serving

  # fd 1 becomes an unlinked append-only file, emptied before each call.
  class StdoutCapture
    def initialize
      path = File.join(Dir.tmpdir, "algo-stdout-#{Process.pid}-#{rand(1 << 32)}")
      @file = File.open(path, File::RDWR | File::CREAT | File::EXCL | File::APPEND | File::BINARY, 0o600)
      File.unlink(path)
      STDOUT.reopen(@file)
      STDOUT.sync = true # prints land in order with what child processes write to the same file
    end

    def reset
      flush
      @file.truncate(0)
    end

    def read
      flush
      size = @file.size
      size.zero? ? "" : LocalclusterRunner.utf8(@file.pread(size, 0))
    end

    private

    def flush
      STDOUT.flush
      $stdout.flush if $stdout.respond_to?(:flush) && !$stdout.equal?(STDOUT)
    rescue IOError
      nil
    end
  end

  def run_call(algorithm, meta, body, capture)
    capture.reset
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    out = "".b
    begin
      begin
        payload = decode_input(meta.fetch("content_type", "text"), body)
      rescue InputError, JSON::ParserError => e
        reply = error_meta(e, "InputError")
        reply["input_error"] = true
      else
        content_type, out = encode_result(algorithm.apply(payload))
        reply = { "type" => "result", "content_type" => content_type }
      end
    rescue Exception => e # rubocop:disable Lint/RescueException - any algorithm failure goes back
      raise if fatal?(e)

      reply = error_meta(e, "AlgorithmError")
      out = "".b
    end
    reply["duration"] = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    reply["stdout"] = capture.read if meta["stdout"]
    [reply, out]
  end

  # Load once, with the first call's environment (load may use the API), then answer calls.
  def serve(options, channel, capture)
    keys = CallKeys.new
    request = channel.receive
    return if request.nil?

    keys.enter(request[0]["env"] || {})
    capture.reset
    begin
      algorithm = Algorithm.new(options[:main], options[:gems])
      algorithm.load
    rescue Exception => e # rubocop:disable Lint/RescueException - load errors are the algorithm's too
      raise if fatal?(e)

      reply = error_meta(e, "AlgorithmError")
      reply["stdout"] = capture.read
      reply["load_failed"] = true
      channel.write(reply)
      return
    end
    channel.write({ "type" => "ready", "pid" => Process.pid })
    until request.nil?
      meta, body = request
      keys.enter(meta["env"] || {})
      channel.write(*run_call(algorithm, meta, body, capture))
      request = channel.receive
    end
  end

  # A worker must never outlive the server, even a SIGKILLed one: PR_SET_PDEATHSIG where the
  # platform has it, and a thread that polls the parent in any case.
  def die_with_parent(parent_pid)
    kill_group = lambda do
      Process.kill(:KILL, -Process.getpgrp) # the algorithm's own children go too
    rescue SystemCallError
      exit!(1)
    end
    Signal.trap("TERM") { kill_group.call }
    begin
      require "fiddle"
      prctl = Fiddle::Function.new(Fiddle.dlopen(nil)["prctl"], [Fiddle::TYPE_INT, Fiddle::TYPE_LONG],
                                   Fiddle::TYPE_INT)
      prctl.call(1, Signal.list.fetch("TERM")) # PR_SET_PDEATHSIG
    rescue StandardError, LoadError
      nil
    end
    return unless parent_pid.positive?

    kill_group.call if Process.ppid != parent_pid # the server died before prctl took effect
    Thread.new do
      loop do
        sleep 0.5
        kill_group.call if Process.ppid != parent_pid
      end
    end
  end

  def serve_main(options)
    # Our pipes move to private descriptors; the algorithm gets /dev/null and the capture file.
    input = STDIN.dup.binmode
    output = STDOUT.dup.binmode
    output.sync = true
    STDIN.reopen(File::NULL)
    capture = StdoutCapture.new
    die_with_parent(options[:parent_pid])
    Dir.chdir(File.dirname(File.dirname(options[:main])))
    serve(options, Channel.new(input, output), capture)
    0
  rescue Errno::EPIPE
    0 # the server went away: nothing left to answer
  end

  # Require the algorithm as a worker would (checkout as cwd), without calling load.
  def check_main(options)
    $stdout = $stderr # the algorithm's prints must not look like our output
    Dir.chdir(File.dirname(File.dirname(options[:main])))
    begin
      Algorithm.new(options[:main], options[:gems])
    rescue Exception => e # rubocop:disable Lint/RescueException - anything, even exit, fails the check
      warn format_backtrace(e)
      warn load_hint(e) if e.is_a?(LoadError)
      return 1
    end
    0
  end

  def load_hint(error)
    name = error.respond_to?(:path) && error.path ? error.path : error.message[/-- (\S+)/, 1]
    hint = "Hint: '#{name}' is neither in Ruby's standard library nor a gem installed on this machine. " \
           "Gems come from the Gemfile and must be installed here (Ruby's own, or Debian's ruby-* packages): " \
           "RubyGems cannot be reached from this machine."
    if name.to_s.start_with?("algorithmia")
      hint += " The official algorithmia gem is one of those: call the API with net/http, using " \
              "ENV['ALGORITHMIA_API'] and ENV['ALGORITHMIA_API_KEY']."
    end
    hint
  end

  def parse_arguments(argv)
    options = { check: false, parent_pid: 0, gems: nil, main: nil }
    args = argv.dup
    until args.empty?
      case (arg = args.shift)
      when "--main" then options[:main] = File.expand_path(args.shift.to_s)
      when "--gems" then options[:gems] = File.expand_path(args.shift.to_s)
      when "--check" then options[:check] = true
      when "--parent-pid" then options[:parent_pid] = Integer(args.shift.to_s)
      else abort("runner.rb: unknown argument #{arg}")
      end
    end
    abort("usage: runner.rb --main SRC/NAME.rb [--gems GEMS.json] [--check]") if options[:main].nil?
    options
  end

  def main(argv)
    options = parse_arguments(argv)
    options[:check] ? check_main(options) : serve_main(options)
  end
end

exit(LocalclusterRunner.main(ARGV)) if $PROGRAM_NAME == __FILE__
