# ActiveRecord 6.1 (Debian's ruby-activerecord, the pg gem) against a PostgreSQL server on
# 127.0.0.1:PORT: a migration (bigint identity keys, jsonb, text[] with defaults, decimals,
# references with a foreign key, indexes), the schema as ActiveRecord reads it back, queries
# (where, joins, includes, group/sum, json and array predicates, ILIKE, update_all,
# find_in_batches, FOR UPDATE), a unique violation, a rolled-back transaction, rename_table
# (the table, its key's sequence and its indexes) and back, a dependent destroy, and the
# migration undone. One line per result; tests/tests/activerecord.rs runs it
# on Orbit and on PostgreSQL 15 and compares the output.
#
# Usage: ruby activerecord_app.rb PORT
require "active_record"
require "logger"
port = ARGV[0]
ActiveRecord::Base.establish_connection(adapter: "postgresql", host: "127.0.0.1", port: port, username: "postgres", database: "postgres")
ActiveRecord::Migration.verbose = false

class CreateShop < ActiveRecord::Migration[6.1]
  def change
    create_table :authors do |t|
      t.string :name, null: false, index: { unique: true }
      t.integer :age
      t.jsonb :meta, default: {}
      t.timestamps
    end
    create_table :books do |t|
      t.references :author, foreign_key: true
      t.string :title
      t.decimal :price, precision: 8, scale: 2
      t.date :published_on
      t.boolean :available, default: true
      t.text :tags, array: true, default: []
      t.timestamps
    end
    add_index :books, [:author_id, :title]
  end
end

class RenameBooks < ActiveRecord::Migration[6.1]
  def change
    rename_table :books, :volumes
  end
end

class Author < ActiveRecord::Base
  has_many :books, dependent: :destroy
end
class Book < ActiveRecord::Base
  belongs_to :author
end

def show(label, v)
  puts "#{label}: #{v.inspect}"
end

CreateShop.migrate(:up)
show("columns", Book.columns.map { |c| [c.name, c.sql_type, c.null] })
show("pk", Book.primary_key)
show("indexes", ActiveRecord::Base.connection.indexes(:books).map { |i| [i.name, i.columns, i.unique] })
show("fks", ActiveRecord::Base.connection.foreign_keys(:books).map { |f| [f.to_table, f.column] })
a = Author.create!(name: "Ada", age: 36, meta: { "lang" => "en", "n" => 2 })
b = Author.create!(name: "Bob", age: 50)
a.books.create!(title: "Notes", price: "12.50", published_on: Date.new(1843, 1, 1), tags: ["math", "engine"])
a.books.create!(title: "Letters", price: "3.00", available: false)
b.books.create!(title: "Stories", price: "7.25", tags: ["fiction"])
show("count", Book.count)
show("where", Book.where(available: true).order(:title).pluck(:title))
show("joins", Book.joins(:author).where(authors: { name: "Ada" }).order(:title).pluck(:title))
show("includes", Author.includes(:books).order(:name).map { |x| [x.name, x.books.map(&:title).sort] })
show("group", Book.group(:author_id).order(:author_id).sum(:price).values.map(&:to_s))
show("json", Author.where("meta->>'lang' = ?", "en").pluck(:name))
show("array", Book.where("'math' = ANY(tags)").pluck(:title))
show("tags", Book.order(:id).pluck(:tags))
show("like", Book.where("title ILIKE ?", "%o%").order(:title).pluck(:title))
show("find_by", Author.find_by(name: "Bob").age)
Book.where(author: b).update_all("price = price * 2")
show("update_all", Book.where(author: b).pluck(:price).map(&:to_s))
begin
  Author.create!(name: "Ada")
rescue ActiveRecord::RecordNotUnique => e
  show("unique", e.class.name)
end
Author.transaction do
  Author.create!(name: "Tmp")
  raise ActiveRecord::Rollback
end
show("rolled back", Author.where(name: "Tmp").exists?)
show("batches", Book.order(:id).find_in_batches(batch_size: 2).map(&:size))
show("lock", Author.lock.where(name: "Ada").pluck(:age))
show("dates", Book.where.not(published_on: nil).pluck(:published_on).map(&:to_s))
RenameBooks.migrate(:up)
conn = ActiveRecord::Base.connection
show("renamed", [conn.tables.sort.select { |t| %w[books volumes].include?(t) }, conn.pk_and_sequence_for("volumes").map(&:to_s)])
show("renamed indexes", conn.indexes(:volumes).map(&:name).sort)
conn.execute("INSERT INTO volumes (author_id, title, created_at, updated_at) VALUES (#{b.id}, 'Essays', now(), now())")
show("renamed insert", conn.select_values("SELECT title FROM volumes WHERE id > 3"))
RenameBooks.migrate(:down)
show("renamed back", [conn.tables.sort.select { |t| %w[books volumes].include?(t) }, conn.pk_and_sequence_for("books").map(&:to_s)])
Book.reset_column_information
show("renamed back count", Book.count)
a.destroy
show("destroyed", [Author.count, Book.count])
CreateShop.migrate(:down)
show("tables", ActiveRecord::Base.connection.tables.sort.select { |t| %w[authors books].include?(t) })
