# frozen_string_literal: true

# A Ruby build's dependency step: the gems the Gemfile asks for, found on this machine.
#
#     ruby gemfile.rb GEMFILE OUT.json
#
# On a real cluster Bundler installs the Gemfile from RubyGems, which localcluster's machines cannot
# reach. Here a gem must already be installed: one of Ruby's own (default and bundled gems) or one
# from a Debian ruby-* package. The Gemfile is read, never run (it is the author's Ruby code): the
# lines understood are `source`, `git_source`, `ruby "<requirement>"`, `gem "name"[, "<requirement>"
# ...][, options]`, and the `group`/`platforms ... do` blocks around gems (every group counts, as
# Bundler installs them all). Anything else fails the build, saying which line: a gem hidden in a
# line that is not read would otherwise go missing at run time.
#
# Each gem is activated here as the runner will activate it (Kernel#gem, its dependencies too), so
# a missing dependency or a version conflict fails the build, not the first call.
# OUT.json: {"gems": [{"name", "version", "requirement"}], "unmet": ["name (requirement)", ...] (gems that
# cannot be had here), "problems": [text, ...] (each with its Gemfile line)}; exit 1 with problems.

require "json"

module LocalclusterGemfile
  QUOTED = /\A\s*(['"])((?:(?!\1).)*)\1/.freeze
  # Options naming a place to fetch the gem from: none of them is reachable, or buildable, here.
  FETCHED_FROM = %w[git github gist bitbucket path source].freeze
  OFFICIAL_CLIENT = "algorithmia"

  module_function

  # The line without its comment (a # outside quotes).
  def strip_comment(line)
    quote = nil
    line.each_char.with_index do |char, index|
      if quote
        quote = nil if char == quote
      elsif ["'", '"'].include?(char)
        quote = char
      elsif char == "#"
        return line[0...index]
      end
    end
    line
  end

  # "name", "~> 1.0", ">= 1.0.2", require: false  ->  ["name", "~> 1.0", ">= 1.0.2"], ["require"]
  def arguments(text)
    text = text.strip
    text = text[1...-1] if text.start_with?("(") && text.end_with?(")")
    strings = []
    while (match = QUOTED.match(text))
      strings << match[2]
      text = match.post_match.sub(/\A\s*,?/, "")
    end
    options = text.scan(/(?:\A|,)\s*:?(\w+)\s*(?::|=>)/).flatten
    [strings, options]
  end

  def debian_package(name)
    "ruby-#{name.downcase.tr('_', '-')}"
  end

  def missing(name, requirement, where)
    installed = Gem::Specification.find_all_by_name(name).map { |spec| spec.version.to_s }
    have = if installed.empty?
             "it is not installed on this machine"
           else
             "this machine has #{name} #{installed.join(', ')}, which does not satisfy #{requirement}"
           end
    text = "gem '#{name}' (#{requirement}), #{where}: #{have}. It would come from RubyGems, which this " \
           "machine cannot reach"
    if name == OFFICIAL_CLIENT
      text + "; the official Algorithmia client gem is not packaged by Debian either: call the API with " \
             "net/http, using ENV['ALGORITHMIA_API'] and ENV['ALGORITHMIA_API_KEY']."
    else
      "#{text}; a Debian package would provide it: apt-get install #{debian_package(name)} (if Debian packages " \
        "#{name}), then build again."
    end
  end

  def activate(name, requirements, where)
    requirement = Gem::Requirement.new(*requirements)
    begin
      gem(name, *requirements)
    rescue Gem::MissingSpecError
      return [nil, missing(name, requirement, where)]
    rescue Gem::LoadError => e # a conflict with a gem activated before, or a missing dependency
      return [nil, "gem '#{name}' (#{requirement}), #{where}: #{e.message.strip}"]
    end
    spec = Gem.loaded_specs.fetch(name)
    [{ "name" => name, "version" => spec.version.to_s, "requirement" => requirement.to_s, "spec" => spec }, nil]
  rescue Gem::Requirement::BadRequirementError => e
    [nil, "gem '#{name}', #{where}: #{e.message}"]
  end

  def origin(spec)
    return "one of Ruby's default gems" if spec.default_gem?

    "installed at #{spec.gem_dir}"
  end

  def read(gemfile)
    gems = []
    unmet = []
    problems = []
    File.readlines(gemfile, chomp: true).each_with_index do |raw, index|
      where = "Gemfile line #{index + 1}"
      line = strip_comment(raw).strip
      next if line.empty?

      keyword, rest = line.split(/[\s(]/, 2)
      rest = line[keyword.length..] if line[keyword.length] == "("
      case keyword
      when "source"
        puts "  #{where}: #{line}: not reached from this machine; gems are taken from what is installed here"
      when "git_source", "end"
        next
      when "group", "platforms", "platform"
        next if line.end_with?(" do") || line.match?(/\bdo\s*(\|[^|]*\|)?\z/)

        problems << "#{where}: `#{line}` is not understood (expected a `#{keyword} ... do` block)"
      when "ruby"
        strings, = arguments(rest.to_s)
        next if strings.empty?

        requirement = Gem::Requirement.new(*strings)
        next if requirement.satisfied_by?(Gem::Version.new(RUBY_VERSION))

        problems << "#{where}: the Gemfile asks for ruby #{requirement}, and this machine's is #{RUBY_VERSION} " \
                    "(the Ruby 3.1 environment runs Debian's ruby)"
      when "gem"
        strings, options = arguments(rest.to_s)
        if strings.empty?
          problems << "#{where}: `#{line}` names no gem"
          next
        end
        name, *requirements = strings
        fetched = options & FETCHED_FROM
        unless fetched.empty?
          problems << "gem '#{name}', #{where}: it is to be fetched from #{fetched.join(', ')}, which a build " \
                      "here cannot do; only gems installed on this machine can be used"
          unmet << name
          next
        end
        found, problem = activate(name, requirements, where)
        gems << found if found
        next unless problem

        problems << problem
        unmet << (requirements.empty? ? name : "#{name} (#{requirements.join(', ')})")
      else
        problems << "#{where}: `#{line}` is not understood: localcluster reads a Gemfile's source, ruby, gem " \
                    "and group lines without running it"
      end
    end
    [gems, unmet, problems]
  rescue Gem::Requirement::BadRequirementError => e
    [gems, unmet, problems + ["Gemfile: #{e.message}"]]
  end

  def main(argv)
    gemfile, out = argv
    gems, unmet, problems = read(gemfile)
    gems.each do |gem|
      puts "  #{gem['name']} #{gem['version']} (#{gem['requirement']}): #{origin(gem.delete('spec'))}"
    end
    puts "  the Gemfile asks for no gems" if gems.empty? && problems.empty?
    problems.each { |problem| puts "  #{problem}" }
    File.write(out, JSON.pretty_generate({ "gems" => gems, "unmet" => unmet, "problems" => problems }))
    problems.empty? ? 0 : 1
  end
end

exit(LocalclusterGemfile.main(ARGV)) if $PROGRAM_NAME == __FILE__
